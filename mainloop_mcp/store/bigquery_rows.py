"""Columns as read back from BigQuery and their conversion to the shared models.

Times travel as INT64 microseconds (UNIX_MICROS / TIMESTAMP_MICROS), exactly as SQLite keeps
them, so cursors and comparisons behave the same on both backends.
"""

from __future__ import annotations

import json
from typing import Any

from mainloop_mcp.model import (
    AgentRun,
    Granularity,
    Message,
    Role,
    RunStatus,
    Summary,
    Thread,
    ThreadStatus,
    ThreadType,
)
from mainloop_mcp.store.timestamps import from_micros, maybe_from_micros

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
    return Thread(
        id=row["id"],
        parent_id=row["parent_id"],
        thread_type=ThreadType(row["thread_type"]),
        title=row["title"],
        thread_context=row["thread_context"],
        status=ThreadStatus(row["status"]),
        created_at=from_micros(row["created_us"]),
        updated_at=from_micros(row["updated_us"]),
    )


def message_from_row(row: dict[str, Any]) -> Message:
    return Message(
        id=row["id"],
        thread_id=row["thread_id"],
        role=Role(row["role"]),
        content=row["content"],
        created_at=from_micros(row["created_us"]),
        idempotency_key=row["idempotency_key"],
        metadata=json.loads(row["metadata"]) if row["metadata"] else {},
    )


def summary_from_row(row: dict[str, Any]) -> Summary:
    return Summary(
        id=row["id"],
        thread_id=row["thread_id"],
        granularity=Granularity(row["granularity"]),
        period_start=from_micros(row["start_us"]),
        period_end=from_micros(row["end_us"]),
        content=row["content"],
        source_message_count=row["source_message_count"],
        token_count=row["token_count"],
        summariser=row["summariser"],
        created_at=from_micros(row["created_us"]),
        stale=bool(row["stale"]),
    )


def run_from_row(row: dict[str, Any]) -> AgentRun:
    return AgentRun(
        id=row["id"],
        thread_id=row["thread_id"],
        parent_thread_id=row["parent_thread_id"],
        title=row["title"],
        prompt=row["prompt"],
        work_folder=row["work_folder"],
        runner=row["runner"],
        status=RunStatus(row["status"]),
        result=row["result"],
        error=row["error"],
        external_id=row["external_id"],
        owner=row["owner"] or "",
        created_at=from_micros(row["created_us"]),
        started_at=maybe_from_micros(row["started_us"]),
        finished_at=maybe_from_micros(row["finished_us"]),
    )
