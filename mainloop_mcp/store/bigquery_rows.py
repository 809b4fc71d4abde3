"""Columns as read back from BigQuery and their conversion to the shared models.

Times travel as INT64 microseconds (UNIX_MICROS / TIMESTAMP_MICROS), exactly as SQLite keeps
them, so cursors and comparisons behave the same on both backends.
"""

from __future__ import annotations

from typing import Any

from google.cloud.bigquery import ScalarQueryParameter

from mainloop_mcp.model import (
    AgentRun,
    Message,
    Summary,
    Thread,
)
from mainloop_mcp.store import rows
from mainloop_mcp.store.paging import Keyset

THREAD_COLUMNS = (
    "id, parent_id, thread_type, title, thread_context, status,"
    " UNIX_MICROS(created_at) AS created_us, UNIX_MICROS(updated_at) AS updated_us"
)
MESSAGE_COLUMNS = (
    "id, thread_id, seq, role, content, UNIX_MICROS(created_at) AS created_us, idempotency_key,"
    " TO_JSON_STRING(metadata) AS metadata"
)

SUMMARY_COLUMNS = (
    "id, thread_id, granularity, UNIX_MICROS(period_start) AS start_us, UNIX_MICROS(period_end) AS end_us,"
    " content, source_message_count, token_count, summariser, UNIX_MICROS(created_at) AS created_us, stale"
)
RUN_COLUMNS = (
    "id, thread_id, parent_thread_id, title, prompt, work_folder, runner, status, result, error, external_id,"
    " owner, UNIX_MICROS(created_at) AS created_us, UNIX_MICROS(started_at) AS started_us,"
    " UNIX_MICROS(finished_at) AS finished_us"
)


def thread_from_row(row: dict[str, Any]) -> Thread:
    return rows.thread_from_row(row, bq_column)


def message_from_row(row: dict[str, Any]) -> Message:
    return rows.message_from_row(row, bq_column)


def summary_from_row(row: dict[str, Any]) -> Summary:
    return rows.summary_from_row(row, bq_column)


def run_from_row(row: dict[str, Any]) -> AgentRun:
    return rows.run_from_row(row, bq_column)


# What the queries above call the microsecond columns (field -> column alias).
_BQ_TIME_COLUMNS = {"period_start": "start_us", "period_end": "end_us"}


def bq_column(field: str) -> str:
    if field in _BQ_TIME_COLUMNS or not field.endswith("_at"):
        return _BQ_TIME_COLUMNS.get(field, field)
    return field.removesuffix("_at") + "_us"


def after_clause(keyset: Keyset, op: str) -> str:
    """Rows past a cursor's position in keyset order (BigQuery has no row-value comparison)."""
    values = [f"TIMESTAMP_MICROS(@c{i})" if f.endswith("_at") else f"@c{i}" for i, f in enumerate(keyset.fields)]
    ties: list[str] = []
    alternatives: list[str] = []
    for field, value in zip(keyset.fields, values, strict=True):
        alternatives.append("(" + " AND ".join([*ties, f"{field} {op} {value}"]) + ")")
        ties.append(f"{field} = {value}")
    return "(" + " OR ".join(alternatives) + ")"


def after_params(keyset: Keyset, position: list[Any]) -> list[ScalarQueryParameter]:
    kinds = {int: "INT64", str: "STRING"}
    pairs = zip(keyset.shape, position, strict=True)
    return [ScalarQueryParameter(f"c{i}", kinds[kind], value) for i, (kind, value) in enumerate(pairs)]
