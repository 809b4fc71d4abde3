"""Full-text search over messages and summaries in BigQuery (the SearchIndex of BigQueryStore).

Which rows match is chosen by the store URL's `search=` option:
- `function` (default, production): BigQuery's SEARCH() over `content`, backed by search indexes
  on messages and summaries created at start-up (`CREATE SEARCH INDEX IF NOT EXISTS`). BigQuery
  populates an index only once its table passes a size threshold; until then SEARCH() scans.
- `like`: whole-word matching that the PyPI emulator can run (it has neither SEARCH() nor search
  indexes), and a fallback anywhere. Text and terms are split into words the way SQLite FTS5's
  default tokenizer does (runs of Unicode letters, digits and `_`; everything else separates) and
  lower-cased; the text becomes " w1  w2  w3 " and a term " t1  t2 ", so a term (or a phrase like
  `a.b`) matches whole words by plain substring search (STRPOS). RE2's `\b` would not do: it only
  knows ASCII, so `café` would never match and `stra` would match inside `straße`.

BigQuery has no BM25. Both paths rank by one documented score, computed in SQL:
    score = sum over the terms of tf / (tf + 1)
where tf is how often the term occurs as whole words (SPLIT on the padded term). Each term held
adds between 0.5 and 1, so holding more of the terms counts most and repeating one counts a little
(BM25's saturation with k1 = 1, without length normalisation or idf). Ties go to the newest.
Messages and summaries are ranked together in one query (one job); snippets are cut in Python.
A term with no letters or digits (e.g. `*`) matches nothing and is ignored.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import Granularity, SearchHit
from mainloop_mcp.store.bigquery.client import BigQueryClient, array, scalar
from mainloop_mcp.store.bigquery.schema import BigQueryTarget
from mainloop_mcp.store.rules import check_limit, check_time_range
from mainloop_mcp.store.timestamps import from_micros, to_micros

MAX_TERMS = 16
SNIPPET_WORDS = 16
TEXT_CHARS = 4000  # of each hit's text handed up for re-ranking
SEARCHED_TABLES = ("messages", "summaries")


def search_index_ddl(target: BigQueryTarget, table: str = "messages") -> str:
    return f"CREATE SEARCH INDEX IF NOT EXISTS {table}_content ON {target.table(table)}(content)"


WORD = re.compile(r"\w+")  # Python's Unicode \w: letters, digits, underscore, like [\p{L}\p{N}_] below
WORDS_SQL = r"CONCAT(' ', REGEXP_REPLACE(LOWER(content), r'[^\p{L}\p{N}_]+', '  '), ' ')"


def words_of(term: str) -> list[str]:
    return WORD.findall(term.lower())


def _padded(words: list[str]) -> str:
    """A term as it is looked for in the padded text: " w1  w2 " (one space each side of every word)."""
    return " " + "  ".join(words) + " "


def _check(terms: list[str], limit: int, since: datetime | None, until: datetime | None) -> list[str]:
    words = [t.strip() for t in terms if t.strip()]
    if not words:
        raise InvalidInput("give at least one search term, e.g. ['kubernetes']")
    if len(words) > MAX_TERMS:
        raise InvalidInput(f"{len(words)} search terms; the limit is {MAX_TERMS}")
    check_limit(limit)
    check_time_range(since, until)
    return words


def search_sql(
    target: BigQueryTarget,
    terms: list[str],
    *,
    match_any: bool,
    thread_ids: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    mode: str,
) -> tuple[str, list[Any]]:
    """The SQL and parameters for one search (separate so tests can run each mode's real text)."""
    phrases = [w for w in (words_of(t) for t in _check(terms, limit, since, until)) if w]
    if not phrases:
        raise InvalidInput(f"search terms {terms!r} hold no letters or digits; give words to look for")
    params: list[Any] = [scalar("limit", "INT64", limit)]
    found: list[str] = []
    searched: list[str] = []
    scores: list[str] = []
    for i, words in enumerate(phrases):
        params.append(scalar(f"w{i}", "STRING", _padded(words)))
        found.append(f"STRPOS(words, @w{i}) > 0")
        tf = f"(ARRAY_LENGTH(SPLIT(words, @w{i})) - 1)"
        scores.append(f"{tf} / ({tf} + 1)")
        if mode == "function":
            # Backticks make the phrase one exact token sequence for the LOG_ANALYZER.
            params.append(scalar(f"t{i}", "STRING", "`" + " ".join(words) + "`"))
            searched.append(f"SEARCH(content, @t{i})")
    join = " OR " if match_any else " AND "
    # A corrected message leaves search (EditStore.supersede_message); its correction is found instead.
    message_where, summary_where = ["JSON_VALUE(metadata, '$.superseded_by') IS NULL"], []
    if searched:  # SEARCH() decides what matches (and uses the index); the words only score
        message_where.append("(" + join.join(searched) + ")")
        summary_where.append("(" + join.join(searched) + ")")
        match = "TRUE"
    else:
        match = "(" + join.join(found) + ")"
    message_where.append("role != 'summary'")  # synced copies: the summary they copy is searched, once
    if thread_ids is not None:
        message_where.append("thread_id IN UNNEST(@thread_ids)")
        summary_where.append("thread_id IN UNNEST(@thread_ids)")
        params.append(array("thread_ids", "STRING", thread_ids))
    if since is not None:  # messages by their instant, summaries by overlap with [since, until)
        message_where.append("created_at >= TIMESTAMP_MICROS(@since)")
        summary_where.append("period_end > TIMESTAMP_MICROS(@since)")
        params.append(scalar("since", "INT64", to_micros(since)))
    if until is not None:
        message_where.append("created_at < TIMESTAMP_MICROS(@until)")
        summary_where.append("period_start < TIMESTAMP_MICROS(@until)")
        params.append(scalar("until", "INT64", to_micros(until)))

    def where(clauses: list[str]) -> str:
        return f" WHERE {' AND '.join(clauses)}" if clauses else ""

    score = " + ".join(scores)
    sql = (
        f"SELECT kind, id, thread_id, granularity, start_us, end_us, content, {score} AS score FROM ("
        "SELECT 'message' AS kind, id, thread_id, 'message' AS granularity, UNIX_MICROS(created_at) AS start_us,"
        f" UNIX_MICROS(created_at) AS end_us, content, {WORDS_SQL} AS words"
        f" FROM {target.table('messages')}{where(message_where)}"
        " UNION ALL "
        "SELECT 'summary' AS kind, id, thread_id, granularity, UNIX_MICROS(period_start) AS start_us,"
        f" UNIX_MICROS(period_end) AS end_us, content, {WORDS_SQL} AS words"
        f" FROM {target.table('summaries')}{where(summary_where)}"
        f") WHERE {match} ORDER BY score DESC, end_us DESC, kind, id LIMIT @limit"
    )
    return sql, params


def snippet(content: str, terms: list[str], width: int = SNIPPET_WORDS) -> str:
    """About `width` words around the first match, matches in [brackets], … where text was cut
    (the shape of SQLite FTS5's snippet())."""
    tokens = list(WORD.finditer(content))
    if not tokens:
        return content
    lowered = [t.group().lower() for t in tokens]
    phrases = [w for w in (words_of(t) for t in terms) if w]
    spans: list[tuple[int, int]] = []  # (first token, last token) of each match, in order, not overlapping
    i = 0
    while i < len(tokens):
        phrase = next((p for p in phrases if lowered[i : i + len(p)] == p), None)
        if phrase is None:
            i += 1
            continue
        spans.append((i, i + len(phrase) - 1))
        i += len(phrase)
    first = spans[0][0] if spans else 0
    start = max(0, min(first - 3, len(tokens) - width))
    end = min(len(tokens), start + width)
    lo = 0 if start == 0 else tokens[start].start()
    hi = len(content) if end == len(tokens) else tokens[end - 1].end()
    parts: list[str] = []
    pos = lo
    for a, b in spans:
        if a >= start and b < end:
            parts += [content[pos : tokens[a].start()], "[", content[tokens[a].start() : tokens[b].end()], "]"]
            pos = tokens[b].end()
    parts.append(content[pos:hi])
    return ("…" if start > 0 else "") + "".join(parts) + ("…" if end < len(tokens) else "")


async def search_text(
    bq: BigQueryClient,
    terms: list[str],
    *,
    match_any: bool = False,
    thread_ids: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Messages and summaries holding all (or, with match_any, any) of `terms`, best first."""
    words = _check(terms, limit, since, until)
    if not any(words_of(w) for w in words):
        return []  # only punctuation: nothing can match (as with FTS5), and no error
    sql, params = search_sql(
        bq.target,
        words,
        match_any=match_any,
        thread_ids=thread_ids,
        since=since,
        until=until,
        limit=limit,
        mode=bq.target.search,
    )
    return [
        SearchHit(
            kind=r["kind"],
            id=r["id"],
            thread_id=r["thread_id"],
            granularity=Granularity(r["granularity"]),
            period_start=from_micros(r["start_us"]),
            period_end=from_micros(r["end_us"]),
            snippet=snippet(r["content"], words),
            score=float(r["score"]),
            text=r["content"][:TEXT_CHARS],
        )
        for r in await bq.rows(sql, params)
    ]
