"""Columns as read back from BigQuery and their conversion to the shared models.

Times travel as INT64 microseconds (UNIX_MICROS / TIMESTAMP_MICROS), exactly as SQLite keeps
them, so cursors and comparisons behave the same on both backends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mainloop_mcp.model import Message, Role, Thread, ThreadStatus, ThreadType

THREAD_COLUMNS = (
    "id, parent_id, thread_type, title, thread_context, status,"
    " UNIX_MICROS(created_at) AS created_us, UNIX_MICROS(updated_at) AS updated_us"
)
MESSAGE_COLUMNS = (
    "id, thread_id, seq, role, content, UNIX_MICROS(created_at) AS created_us, idempotency_key,"
    " TO_JSON_STRING(metadata) AS metadata"
)


def to_micros(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


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
