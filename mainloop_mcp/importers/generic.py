"""mainloop's generic JSONL: one message a line, `{id, thread, parent, role, author, content, created_at}`.

The stable import path for scripts and benchmarks (README, "Import history"). A thread without
`parent` is a project; with one it is a task under the project titled `parent`. Messages are grouped
by thread before writing, so each thread is written whole (in one transaction) wherever its lines sit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from mainloop_mcp.importers.records import ROLES, BadRecord, SourceItem, Tally, decode, message, micros
from mainloop_mcp.model import MAX_TITLE_CHARS, ThreadType
from mainloop_mcp.store.imports import ImportedMessage, ImportedThread


def read(paths: list[Path], tally: Tally) -> Iterator[SourceItem]:
    threads: dict[tuple[str, str], list[ImportedMessage]] = {}
    for path in paths:
        with path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                found = _line(raw, tally)
                if isinstance(found, str):
                    yield BadRecord(f"{path}:{number}", found)
                    continue
                parent, thread, imported = found
                threads.setdefault((parent, thread), []).append(imported)
    projects = {parent for parent, _ in threads if parent} | {thread for parent, thread in threads if not parent}
    for title in sorted(projects):
        yield ImportedThread(
            source_key=f"jsonl:project:{title}",
            title=title,
            thread_type=ThreadType.PROJECT,
            messages=threads.pop(("", title), []),
        )
    for (parent, title), messages in threads.items():
        yield ImportedThread(
            source_key=f"jsonl:task:{parent}/{title}",
            title=title,
            thread_type=ThreadType.TASK,
            parent_key=f"jsonl:project:{parent}",
            messages=messages,
        )


def _line(raw: bytes, tally: Tally) -> tuple[str, str, ImportedMessage] | str:
    """(parent title, thread title, message) from one line, or why the line is bad."""
    try:
        record = json.loads(decode(raw, tally))
    except ValueError:
        return "not JSON"
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    source_id, thread, content = record.get("id"), record.get("thread"), record.get("content")
    parent, role = record.get("parent") or "", record.get("role") or "user"
    if not isinstance(source_id, str | int) or source_id == "":
        return "no id"
    if not isinstance(thread, str) or not thread.strip() or len(thread.strip()) > MAX_TITLE_CHARS:
        return f"thread must be a title of 1-{MAX_TITLE_CHARS} characters"
    if not isinstance(parent, str) or len(parent.strip()) > MAX_TITLE_CHARS:
        return f"parent must be a project title of up to {MAX_TITLE_CHARS} characters"
    if role not in ROLES:
        return f"role {str(role)[:20]!r} is not one of {', '.join(sorted(ROLES))}"
    if not isinstance(content, str) or not content.strip():
        return "content must be non-empty text"
    try:
        at = micros(record.get("created_at"))
    except ValueError as exc:
        return f"created_at: {exc}"
    author = record.get("author")
    extra = {"author": str(author)} if author else {}
    return parent.strip(), thread.strip(), message(f"jsonl:{source_id}", role, content, at, **extra)
