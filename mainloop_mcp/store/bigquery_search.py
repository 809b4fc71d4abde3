"""Full-text search over messages in BigQuery.

Two paths, chosen by the store URL's `search=` option:
- `function` (default, production): BigQuery's SEARCH() over `content`, backed by a search index
  created at start-up (`CREATE SEARCH INDEX IF NOT EXISTS`). BigQuery populates the index only
  once the table passes its size threshold; until then SEARCH() still answers, by scanning.
- `like`: one case-insensitive REGEXP_CONTAINS per term with word boundaries. It is what the
  PyPI emulator can run (it has neither SEARCH() nor search indexes), and a fallback anywhere.
Both rank by how many of the terms a message holds, then newest first; time bounds prune
partitions and thread ids prune clustered blocks.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import Message
from mainloop_mcp.store.base import check_limit, check_time_range
from mainloop_mcp.store.bigquery_client import BigQueryClient, array, scalar
from mainloop_mcp.store.bigquery_rows import MESSAGE_COLUMNS, message_from_row, to_micros
from mainloop_mcp.store.bigquery_schema import BigQueryTarget

MAX_TERMS = 16


def search_index_ddl(target: BigQueryTarget) -> str:
    return f"CREATE SEARCH INDEX IF NOT EXISTS messages_content ON {target.table('messages')}(content)"


def _term_condition(mode: str, i: int, term: str) -> tuple[str, Any]:
    if mode == "function":
        # Backticks make the term one exact token for the LOG_ANALYZER; a backtick inside is dropped.
        return f"SEARCH(content, @t{i})", scalar(f"t{i}", "STRING", f"`{term.replace('`', '')}`")
    return f"REGEXP_CONTAINS(LOWER(content), @t{i})", scalar(f"t{i}", "STRING", rf"\b{re.escape(term.lower())}\b")


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
    words = [t.strip() for t in terms if t.strip()]
    if not words:
        raise InvalidInput("give at least one search term, e.g. ['kubernetes']")
    if len(words) > MAX_TERMS:
        raise InvalidInput(f"{len(words)} search terms; the limit is {MAX_TERMS}")
    check_limit(limit)
    check_time_range(since, until)
    conditions: list[str] = []
    params: list[Any] = [scalar("limit", "INT64", limit)]
    for i, word in enumerate(words):
        condition, param = _term_condition(mode, i, word)
        conditions.append(condition)
        params.append(param)
    score = " + ".join(f"IF({c}, 1, 0)" for c in conditions)
    clauses = ["(" + (" OR " if match_any else " AND ").join(conditions) + ")"]
    if thread_ids is not None:
        clauses.append("thread_id IN UNNEST(@thread_ids)")
        params.append(array("thread_ids", "STRING", thread_ids))
    if since is not None:
        clauses.append("created_at >= TIMESTAMP_MICROS(@since)")
        params.append(scalar("since", "INT64", to_micros(since)))
    if until is not None:
        clauses.append("created_at < TIMESTAMP_MICROS(@until)")
        params.append(scalar("until", "INT64", to_micros(until)))
    sql = (
        f"SELECT {MESSAGE_COLUMNS}, {score} AS score FROM {target.table('messages')}"
        f" WHERE {' AND '.join(clauses)} ORDER BY score DESC, created_at DESC, seq DESC LIMIT @limit"
    )
    return sql, params


async def search_messages(
    bq: BigQueryClient,
    terms: list[str],
    *,
    match_any: bool = False,
    thread_ids: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
) -> list[tuple[Message, float]]:
    """Messages holding all (or, with match_any, any) of `terms`, best first, with a score."""
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
    return [(message_from_row(r), float(r["score"])) for r in await bq.rows(sql, params)]
