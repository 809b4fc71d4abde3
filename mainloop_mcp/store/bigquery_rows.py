"""Columns as read back from BigQuery and their conversion to the shared models.

Times travel as INT64 microseconds (UNIX_MICROS / TIMESTAMP_MICROS), exactly as SQLite keeps
them, so cursors and comparisons behave the same on both backends.
"""

from __future__ import annotations

from typing import Any

from mainloop_mcp.model import (
    AgentRun,
    Message,
    Summary,
    Thread,
)
from mainloop_mcp.store import rows

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
    return _BQ_TIME_COLUMNS.get(field, field.removesuffix("_at") + "_us")
