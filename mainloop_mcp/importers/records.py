"""What importers yield, and the checks every imported message passes once (cheaply: no pydantic per message)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mainloop_mcp.model import MAX_CONTENT_BYTES, MAX_TITLE_CHARS, Role, clip
from mainloop_mcp.store.imports import ImportedMessage, ImportedThread
from mainloop_mcp.store.timestamps import to_micros

ROLES = frozenset(r.value for r in Role if r is not Role.SUMMARY)


@dataclass(frozen=True)
class BadRecord:
    """A record that could not be imported: where it is (`file:line` or `file[index]`) and why."""

    where: str
    reason: str


SourceItem = ImportedThread | BadRecord
Tally = Counter[str]  # what an importer skipped or folded, by reason ("tool calls summarised", ...)


def micros(value: Any) -> int:
    """ISO 8601 with a zone, or epoch seconds -> microseconds since the epoch; ValueError says why not."""
    if value is None:
        raise ValueError("missing")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value * 1_000_000)
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"time {value[:40]!r} is not ISO 8601") from None
        if t.tzinfo is None:
            raise ValueError(f"time {value[:40]!r} has no time zone; add Z or +02:00")
        return to_micros(t)
    raise ValueError(f"time {str(value)[:40]!r} is neither ISO 8601 text nor epoch seconds")


def message(key: str, role: str, content: str, created_us: int, **metadata: Any) -> ImportedMessage:
    """One imported message; over-long text keeps its head and says how much was cut."""
    return ImportedMessage(
        key=key,
        role=role,
        content=clip(content) if len(content) > MAX_CONTENT_BYTES // 4 else content,  # 4 bytes a char at most
        created_us=created_us,
        metadata=json.dumps(metadata, ensure_ascii=False) if metadata else "{}",
    )


def title_of(text: str, fallback: str, limit: int = 80) -> str:
    """A thread title from free text: its first non-blank line, shortened."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not line:
        return fallback
    limit = min(limit, MAX_TITLE_CHARS)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def decode(raw: bytes, tally: Tally) -> str:
    """UTF-8 text; bytes that are not UTF-8 become U+FFFD (counted) rather than losing the record."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        tally["records with non-UTF-8 bytes (replaced by U+FFFD)"] += 1
        return raw.decode("utf-8", errors="replace")
