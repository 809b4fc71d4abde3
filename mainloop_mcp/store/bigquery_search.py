"""Full-text search over messages and summaries in BigQuery (the SearchIndex of BigQueryStore).

Which rows match is chosen by the store URL's `search=` option:
- `function` (default, production): BigQuery's SEARCH() over `content`, backed by search indexes
  on messages and summaries created at start-up (`CREATE SEARCH INDEX IF NOT EXISTS`). BigQuery
  populates an index only once its table passes a size threshold; until then SEARCH() scans.
- `like`: one case-insensitive whole-word REGEXP_CONTAINS per term. It is what the PyPI emulator
  can run (it has neither SEARCH() nor search indexes), and a fallback anywhere.

BigQuery has no BM25. Both paths rank by one documented score, computed in SQL:
    score = sum over the terms of tf / (tf + 1)
where tf is how often the term occurs as a whole word (REGEXP_EXTRACT_ALL). Each term held adds
between 0.5 and 1, so holding more of the terms counts most and repeating one counts a little
(BM25's saturation with k1 = 1, without length normalisation or idf). Ties go to the newest.
Messages and summaries are ranked together in one query (one job); snippets are cut in Python.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import Granularity, SearchHit
from mainloop_mcp.store.base import check_limit, check_time_range
from mainloop_mcp.store.bigquery_client import BigQueryClient, array, scalar
from mainloop_mcp.store.bigquery_schema import BigQueryTarget
from mainloop_mcp.store.timestamps import from_micros, to_micros

MAX_TERMS = 16
SNIPPET_WORDS = 16
SEARCHED_TABLES = ("messages", "summaries")


def search_index_ddl(target: BigQueryTarget, table: str = "messages") -> str:
    return f"CREATE SEARCH INDEX IF NOT EXISTS {table}_content ON {target.table(table)}(content)"


def _word_pattern(term: str) -> str:
    """The whole-word pattern of one term, matched against LOWER(content) (RE2 and Python agree on it)."""
    return rf"\b{re.escape(term.lower())}\b"


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
    words = _check(terms, limit, since, until)
    params: list[Any] = [scalar("limit", "INT64", limit)]
    matches: list[str] = []
    scores: list[str] = []
    for i, word in enumerate(words):
        params.append(scalar(f"w{i}", "STRING", _word_pattern(word)))
        if mode == "function":
            # Backticks make the term one exact token for the LOG_ANALYZER; a backtick inside is dropped.
            params.append(scalar(f"t{i}", "STRING", f"`{word.replace('`', '')}`"))
            matches.append(f"SEARCH(content, @t{i})")
        else:
            matches.append(f"REGEXP_CONTAINS(LOWER(content), @w{i})")
        tf = f"ARRAY_LENGTH(REGEXP_EXTRACT_ALL(LOWER(content), @w{i}))"
        scores.append(f"{tf} / ({tf} + 1)")
    match = "(" + (" OR " if match_any else " AND ").join(matches) + ")"
    score = " + ".join(scores)
    message_where, summary_where = [match], [match]
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
    sql = (
        "SELECT * FROM ("
        "SELECT 'message' AS kind, id, thread_id, 'message' AS granularity, UNIX_MICROS(created_at) AS start_us,"
        f" UNIX_MICROS(created_at) AS end_us, content, {score} AS score"
        f" FROM {target.table('messages')} WHERE {' AND '.join(message_where)}"
        " UNION ALL "
        "SELECT 'summary' AS kind, id, thread_id, granularity, UNIX_MICROS(period_start) AS start_us,"
        f" UNIX_MICROS(period_end) AS end_us, content, {score} AS score"
        f" FROM {target.table('summaries')} WHERE {' AND '.join(summary_where)}"
        ") ORDER BY score DESC, end_us DESC, kind, id LIMIT @limit"
    )
    return sql, params


def snippet(content: str, terms: list[str], width: int = SNIPPET_WORDS) -> str:
    """About `width` words around the first match, matches in [brackets], … where text was cut
    (the shape of SQLite FTS5's snippet())."""
    pattern = re.compile("|".join(_word_pattern(t) for t in terms), re.IGNORECASE | re.ASCII)
    words = list(re.finditer(r"\S+", content))
    if not words:
        return ""
    found = list(pattern.finditer(content))
    first = found[0].start() if found else 0
    at = next((i for i, w in enumerate(words) if w.end() > first), 0)
    start = max(0, min(at - 3, len(words) - width))
    end = min(len(words), start + width)
    lo, hi = words[start].start(), words[end - 1].end()
    parts: list[str] = []
    pos = lo
    for m in found:
        if m.start() >= pos and m.end() <= hi:
            parts += [content[pos : m.start()], "[", m.group(), "]"]
            pos = m.end()
    parts.append(content[pos:hi])
    return ("…" if start > 0 else "") + "".join(parts) + ("…" if end < len(words) else "")


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
    sql, params = search_sql(
        bq.target,
        terms,
        match_any=match_any,
        thread_ids=thread_ids,
        since=since,
        until=until,
        limit=limit,
        mode=bq.target.search,
    )
    words = _check(terms, limit, since, until)
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
        )
        for r in await bq.rows(sql, params)
    ]
