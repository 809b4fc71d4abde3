"""Stored rows -> models, once for every backend.

Both stores keep instants as integer microseconds; they differ only in what their queries call those
columns, so each converter takes `column(field) -> column name` (SQLite: the field's own name).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

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

Column = Callable[[str], str]


class Row(Protocol):
    """sqlite3.Row or a dict: anything readable by column name."""

    def __getitem__(self, key: str) -> Any: ...


def same_name(field: str) -> str:
    return field


def thread_from_row(row: Row, column: Column = same_name) -> Thread:
    return Thread(
        id=row["id"],
        parent_id=row["parent_id"],
        thread_type=ThreadType(row["thread_type"]),
        title=row["title"],
        thread_context=row["thread_context"],
        status=ThreadStatus(row["status"]),
        created_at=from_micros(row[column("created_at")]),
        updated_at=from_micros(row[column("updated_at")]),
    )


def message_from_row(row: Row, column: Column = same_name) -> Message:
    return Message(
        id=row["id"],
        thread_id=row["thread_id"],
        role=Role(row["role"]),
        content=row["content"],
        created_at=from_micros(row[column("created_at")]),
        idempotency_key=row["idempotency_key"],
        metadata=json.loads(row["metadata"]) if row["metadata"] else {},
    )


def summary_from_row(row: Row, column: Column = same_name) -> Summary:
    return Summary(
        id=row["id"],
        thread_id=row["thread_id"],
        granularity=Granularity(row["granularity"]),
        period_start=from_micros(row[column("period_start")]),
        period_end=from_micros(row[column("period_end")]),
        content=row["content"],
        source_message_count=row["source_message_count"],
        token_count=row["token_count"],
        summariser=row["summariser"],
        created_at=from_micros(row[column("created_at")]),
        stale=bool(row["stale"]),
    )


def run_from_row(row: Row, column: Column = same_name) -> AgentRun:
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
        created_at=from_micros(row[column("created_at")]),
        started_at=maybe_from_micros(row[column("started_at")]),
        finished_at=maybe_from_micros(row[column("finished_at")]),
    )
