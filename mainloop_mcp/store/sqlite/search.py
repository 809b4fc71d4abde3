"""SQLite full-text search: a stemming FTS5 index over messages, summaries and thread titles/context,
and the rendering of a parsed TextQuery into an FTS5 expression that can never be a syntax error.

Every term is a quoted FTS5 string (quotes doubled), so operators, column filters (`col:`), `NEAR(`
and `^` in user text are plain words. The tokenizer stems English (porter) and folds accents, so
"graduated" finds "graduate" and "cafe" finds "café"; re-ranking exact words above stem-only matches
and snippets are the search layer's job (it gets each hit's text): FTS5's snippet() cost more
than the ranking itself on long messages. Synced copies of child summaries (messages of
role 'summary') are not indexed as messages (schema step 10): the summary they copy is, once.
"""

from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mainloop_mcp.model import Granularity, QueryTerm, SearchHit, TextQuery
from mainloop_mcp.store.timestamps import from_micros, to_micros
from mainloop_mcp.text import WORD, fold, stem, stems_pattern, words_of

if TYPE_CHECKING:
    from mainloop_mcp.store.sqlite.topk import Ranker, TopK

SNIPPET_TOKENS = 16
THREADS_IN_FTS = 100  # a thread filter of up to this many threads is matched inside FTS5
TEXT_CHARS = 4000  # of each hit's text handed up for re-ranking
CANDIDATES_LEFT_OUT = 100  # candidates the index returns when frequent terms are scored from the text
BM25_K1, BM25_B = 1.2, 0.75  # FTS5's bm25 constants
SCAN_ROWS = 200_000  # most recent messages a substring scan (unsegmented scripts) looks through

# Synced copies of summaries (role 'summary') leave search to the summary they copy; a corrected
# message leaves it to its correction (EditStore.supersede_message).
SEARCHABLE = "m.role != 'summary' AND json_extract(m.metadata, '$.superseded_by') IS NULL"

# Scripts written without spaces: unicode61 keeps a whole run as one token, so a word inside it is
# found by substring instead.
UNSEGMENTED = re.compile(r"[\u0e00-\u0eff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def render(term: QueryTerm) -> str:
    """A quoted FTS5 string. The tokenizer stems a prefix too ("deploy" -> "deploi", no longer a prefix
    of the stem of "deployment"), so a prefix also matches with its last letter dropped."""
    if term.prefix and len(term.text) >= 4:
        return f"({_quote(term.text)} * OR {_quote(term.text[:-1])} *)"
    return _quote(term.text) + (" *" if term.prefix else "")


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts_expression(query: TextQuery, thread_ids: list[str] | None = None, column: str | None = "content") -> str:
    """content : (must AND must AND (any positive term) NOT excluded ...): the OR group lets BM25
    score every term while only `must` terms are required; with `thread_ids`, ANDed with the thread."""
    any_term = " OR ".join(render(t) for t in query.positive)
    if query.must:
        expr = " AND ".join(render(t) for t in query.must)
        if query.should:
            expr += f" AND ({any_term})"
    else:
        expr = any_term
    for term in query.must_not:
        expr = f"({expr}) NOT {render(term)}"
    if column:
        expr = f"{column} : ({expr})"
    if thread_ids:
        expr = f"(thread_id : ({' OR '.join(_quote(_id_token(t)) for t in thread_ids)})) AND ({expr})"
    return expr


def _id_token(thread_id: str) -> str:
    """The last token of a thread id, its random part: the tokenizer splits "thr_01a2..." in two, and
    "thr" is in every row, so a phrase of both reads a doclist as long as the table (18.7 ms p50 at 1M
    messages, against 3.6 ms for the random part alone). Callers filter by the whole id in SQL too."""
    tokens = re.findall(r"[^\W_]+", thread_id)
    return tokens[-1] if tokens else thread_id


class Filters:
    """Thread and time filters as SQL, shared by the message and summary queries."""

    def __init__(self, thread_ids: list[str] | None, since: datetime | None, until: datetime | None) -> None:
        self.thread_ids, self.since, self.until = thread_ids, since, until

    def sql(self, alias: str, since_column: str, until_column: str, inclusive: bool) -> tuple[str, list[Any]]:
        sql = ""
        params: list[Any] = []
        if self.thread_ids is not None:
            sql += f" AND {alias}.thread_id IN ({', '.join('?' * len(self.thread_ids))})"
            params += self.thread_ids
        if self.since is not None:
            sql += f" AND {since_column} {'>=' if inclusive else '>'} ?"
            params.append(to_micros(self.since))
        if self.until is not None:
            sql += f" AND {until_column} < ?"
            params.append(to_micros(self.until))
        return sql, params


@dataclass(frozen=True)
class LeftOut:
    """An optional term left out of the index query, scored on the candidates instead."""

    words: tuple[str, ...]  # its words, folded and crudely stemmed (text.stem)
    idf: float  # FTS5's bm25 idf: ln((N - n + 0.5) / (n + 0.5)), at least 1e-6


class TermStats:
    """How many messages hold each term (cached per store; recounted as the store grows by a tenth).

    FTS5 scores every row that matches any OR term, so its cost grows with the rows the terms match:
    the optional terms are taken rarest first while the rows they match stay within ROWS, and the
    rest are left out of the index query; the index returns more candidates (CANDIDATES_LEFT_OUT),
    and each left-out term adds its BM25 share to them from their own text (`rescore`), so it still
    counts in the order. bench/search_scale.py measures what this costs against the uncut ranking.
    A cut by share instead (terms in over 3% of messages) lost 5 points of hit@5 on LongMemEval."""

    ROWS = 40_000  # above this many messages the top-k index ranks instead, when it can (topk.MIN_ROWS)

    def __init__(self) -> None:
        self.size = 0
        self.docs: dict[str, int] = {}

    def split(self, conn: sqlite3.Connection, query: TextQuery) -> tuple[TextQuery, list[LeftOut]]:
        """The query to send to the index, and the terms left out of it."""
        size = conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0]
        if size <= self.ROWS or len(query.should) < 2 and not query.must:
            return query, []
        if size > self.size * 1.1:
            self.size, self.docs = size, {}
        counts = {t: self._docs(conn, t) for t in query.should}
        keep: list[QueryTerm] = []
        rows = 0
        for term in sorted(query.should, key=lambda t: counts[t]):
            if rows + counts[term] > self.ROWS and (keep or query.must):
                break
            keep.append(term)
            rows += counts[term]
        left = [
            LeftOut(tuple(stem(w) for w in words_of(t.text)), max(1e-6, math.log((size - n + 0.5) / (n + 0.5))))
            for t, n in counts.items()
            if t not in keep and not t.prefix
        ]
        kept = tuple(t for t in query.should if t in keep)
        return query.model_copy(update={"should": kept}), [t for t in left if t.words]

    def _docs(self, conn: sqlite3.Connection, term: QueryTerm) -> int:
        key = render(term)
        if key not in self.docs:
            self.docs[key] = conn.execute(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (key,)
            ).fetchone()[0]
        return self.docs[key]


def rescore(rows: list[Any], left: list[LeftOut]) -> list[tuple[Any, float]]:
    """(row, rank) with each left-out term's BM25 share (k1 1.2, b 0.75, as FTS5's bm25) taken off the
    index's rank (lower ranks first); term counts and lengths come from the candidates' text."""
    if not left:
        return [(r, r["rank"]) for r in rows]
    texts = [fold(r["text"]) for r in rows]
    lengths = [len(WORD.findall(t)) for t in texts]
    average = max(1.0, sum(lengths) / max(1, len(texts)))
    patterns = [(stems_pattern(term.words), term.idf) for term in left]
    out = []
    for row, text, length in zip(rows, texts, lengths, strict=True):
        norm = BM25_K1 * (1 - BM25_B + BM25_B * length / average)
        share = 0.0
        for pattern, idf in patterns:
            tf = len(pattern.findall(text))
            share += idf * tf * (BM25_K1 + 1) / (tf + norm) if tf else 0.0
        out.append((row, row["rank"] - share))
    return out


@dataclass(frozen=True)
class Indexed:
    """A searched table: its FTS5 index, the hit columns, which rows count, and its time columns."""

    table: str
    alias: str
    columns: str
    searchable: str
    since_column: str
    until_column: str
    inclusive: bool

    @property
    def index(self) -> str:
        return f"{self.table}_fts"


MESSAGES = Indexed(
    "messages",
    "m",
    "'message' AS kind, m.id, m.thread_id, t.title, 'message' AS granularity,"
    " m.created_at AS period_start, m.created_at AS period_end,"
    f" '' AS snip, substr(m.content, 1, {TEXT_CHARS}) AS text",
    SEARCHABLE,
    "m.created_at",
    "m.created_at",
    inclusive=True,
)
SUMMARIES = Indexed(
    "summaries",
    "s",
    "'summary' AS kind, s.id, s.thread_id, t.title, s.granularity, s.period_start, s.period_end,"
    f" '' AS snip, substr(s.content, 1, {TEXT_CHARS}) AS text",
    "1",
    "s.period_end",
    "s.period_start",
    inclusive=False,
)


def search(
    conn: sqlite3.Connection,
    query: TextQuery,
    filters: Filters,
    limit: int,
    stats: TermStats | None = None,
    topk: TopK | None = None,
) -> list[SearchHit]:
    """Messages and summaries, best BM25 first (scores of the two indexes compared as they are). In a
    big store the top-k index ranks the messages when it can, every word counted; FTS5 otherwise,
    within its row budget (`stats`)."""
    ranker = topk.ranker(conn, query, filters) if topk else None
    query, left = stats.split(conn, query) if stats and ranker is None else (query, [])
    fetch = max(limit, CANDIDATES_LEFT_OUT) if left else limit
    rows = _best_rows(conn, MESSAGES, query, filters, fetch, ranker) + _best_rows(
        conn, SUMMARIES, query, filters, fetch
    )
    if any(UNSEGMENTED.search(t.text) for t in query.positive):
        rows += _substring_rows(conn, query, filters, limit)
    ranked = sorted(rescore(rows, left), key=lambda pair: pair[1])
    return _dedupe([_hit(r, rank) for r, rank in ranked])[:limit]


def _best_rows(
    conn: sqlite3.Connection,
    table: Indexed,
    query: TextQuery,
    filters: Filters,
    fetch: int,
    ranker: Ranker | None = None,
) -> list[Any]:
    """The best `fetch` rows of `table`. When an index can apply every filter itself (the top-k index
    always; FTS5 with none, or a few threads), it ranks alone and only its best rows are joined:
    joining every match to its table before ranking cost as much as the ranking (23.8 against
    12.7 ms p50 at 1M messages, one thread). Rows the join drops (corrected messages) are made up
    for by over-fetching; a page they still leave short, or a time filter, takes FTS5's join-first
    query."""
    in_fts = filters.thread_ids if filters.thread_ids and len(filters.thread_ids) <= THREADS_IN_FTS else None
    a = table.alias
    where, params = filters.sql(a, table.since_column, table.until_column, table.inclusive)
    match = fts_expression(query, in_fts)
    joined = f"JOIN threads t ON t.id = {a}.thread_id WHERE {table.searchable}{where}"
    if ranker is None and filters.since is None and filters.until is None and (filters.thread_ids is None or in_fts):
        ranker = _fts_ranker(conn, table, match)
    if ranker is not None:
        over = fetch + fetch // 2 + 10
        rank_of = ranker(over)
        rows = conn.execute(  # NOT INDEXED: by rowid, not by scanning the thread's index (2.9 -> 1.5 ms at 1M)
            f"SELECT {table.columns}, {a}.seq FROM {table.table} {a} NOT INDEXED {joined}"
            f" AND {a}.seq IN ({', '.join('?' * len(rank_of))})",
            [*params, *rank_of],
        ).fetchall()
        if len(rows) >= fetch or len(rank_of) < over:
            return sorted(({**dict(r), "rank": rank_of[r["seq"]]} for r in rows), key=lambda r: r["rank"])[:fetch]
    return conn.execute(
        f"SELECT {table.columns}, f.rank FROM {table.index} f JOIN {table.table} {a} ON {a}.seq = f.rowid"
        f" {joined} AND f.{table.index} MATCH ? ORDER BY f.rank LIMIT ?",
        [*params, match, fetch],
    ).fetchall()


def _fts_ranker(conn: sqlite3.Connection, table: Indexed, match: str) -> Ranker:
    def best(k: int) -> dict[int, float]:
        sql = f"SELECT rowid, rank FROM {table.index} WHERE {table.index} MATCH ? ORDER BY rank LIMIT ?"
        return dict(conn.execute(sql, (match, k)).fetchall())

    return best


def search_threads(conn: sqlite3.Connection, query: TextQuery, limit: int) -> list[SearchHit]:
    """Threads whose title or standing context match `query`, best BM25 first (title weighs 3x)."""
    rows = conn.execute(
        "SELECT 'thread' AS kind, t.id, t.id AS thread_id, t.title, 'message' AS granularity,"
        " t.updated_at AS period_start, t.updated_at AS period_end,"
        " highlight(threads_fts, 1, '[', ']') || CASE WHEN t.thread_context = '' THEN '' ELSE"
        f" ' — ' || snippet(threads_fts, 2, '[', ']', '…', {SNIPPET_TOKENS}) END AS snip,"
        f" t.title || ' ' || substr(t.thread_context, 1, {TEXT_CHARS}) AS text,"
        " bm25(threads_fts, 0, 3.0, 1.0) AS rank"
        " FROM threads_fts JOIN threads t ON t.id = threads_fts.thread_id"
        " WHERE threads_fts MATCH ? AND t.status = 'active' ORDER BY rank LIMIT ?",
        [fts_expression(query, column=None), limit],
    ).fetchall()
    return [_hit(r) for r in rows]


def _substring_rows(conn: sqlite3.Connection, query: TextQuery, filters: Filters, limit: int) -> list[Any]:
    """Recent messages holding an unsegmented-script term as a substring, scored below any FTS hit."""
    terms = [t.text for t in query.positive if UNSEGMENTED.search(t.text)]
    where, params = filters.sql("m", "m.created_at", "m.created_at", inclusive=True)
    likes = " OR ".join("instr(m.content, ?) > 0" for _ in terms)
    return conn.execute(
        "SELECT 'message' AS kind, m.id, m.thread_id, t.title, 'message' AS granularity,"
        " m.created_at AS period_start, m.created_at AS period_end,"
        f" '' AS snip, substr(m.content, 1, {TEXT_CHARS}) AS text, 0.0 AS rank"
        f" FROM (SELECT * FROM messages ORDER BY seq DESC LIMIT {SCAN_ROWS}) m JOIN threads t ON t.id = m.thread_id"
        f" WHERE ({likes}) AND {SEARCHABLE}{where} LIMIT ?",
        [*terms, *params, limit],
    ).fetchall()


def _dedupe(hits: list[SearchHit]) -> list[SearchHit]:
    seen: set[str] = set()
    out = []
    for h in hits:
        if h.id not in seen:
            seen.add(h.id)
            out.append(h)
    return out


def _hit(r: Any, rank: float | None = None) -> SearchHit:
    return SearchHit(
        kind=r["kind"],
        id=r["id"],
        thread_id=r["thread_id"],
        thread_title=r["title"],
        granularity=Granularity(r["granularity"]),
        period_start=from_micros(r["period_start"]),
        period_end=from_micros(r["period_end"]),
        snippet=r["snip"],
        text=r["text"],
        score=-float(r["rank"] if rank is None else rank),
    )
