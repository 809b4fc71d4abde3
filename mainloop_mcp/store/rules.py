"""The rules every backend enforces the same way: where a thread may hang, what a page or time range
may ask for, when a replayed post is the same message, how edits (move, unarchive, redact, correct)
are checked, and that a run ends with a final status. Backends call these; they hold no storage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mainloop_mcp.errors import Conflict, InvalidInput
from mainloop_mcp.model import (
    MAX_PAGE_SIZE,
    Message,
    NewMessage,
    NewThread,
    RunStatus,
    Thread,
    ThreadStatus,
    ThreadType,
    check_title,
    new_id,
)


def check_finish(status: RunStatus) -> None:
    if not status.finished:
        raise InvalidInput(f"finish_run needs a final status; got {status.value!r}")


def resolve_parent(new: NewThread, parent: Thread | None, main: Thread) -> str:
    """Return the parent id a new thread gets, or raise why it can't have the one asked for."""
    if new.thread_type is ThreadType.MAIN:
        raise InvalidInput("there is exactly one main thread and it already exists; create a project or task thread")
    if new.thread_type is ThreadType.PROJECT:
        if new.parent_id is None:
            return main.id
        if new.parent_id != main.id:
            raise InvalidInput(
                f"a project thread's parent must be the main thread ({main.id}); got {new.parent_id!r}. "
                "Omit parent_id to use the main thread."
            )
        return main.id
    if new.parent_id is None:
        raise InvalidInput("a task thread needs a parent_id: the project (or main) thread it belongs to")
    assert parent is not None, "caller looks the parent up before resolving"
    if parent.thread_type is ThreadType.TASK:
        raise InvalidInput(f"thread {parent.id} is a task; a task's parent must be a project or the main thread")
    if parent.status is ThreadStatus.ARCHIVED:
        raise InvalidInput(f"thread {parent.id} is archived; tasks can't be added under an archived thread")
    return parent.id


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}; got {limit}")
    return limit


def check_time_range(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} must carry a time zone, e.g. 2026-11-24T00:00:00Z")
    if since is not None and until is not None and since >= until:
        raise InvalidInput(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")


def same_message(existing: Message, new: NewMessage) -> Message:
    """Idempotent replay: the first message for a key wins, but only for the same post."""
    if existing.thread_id != new.thread_id or existing.content != new.content or existing.role != new.role:
        raise Conflict(
            f"idempotency_key {new.idempotency_key!r} was already used for message {existing.id} "
            f"in thread {existing.thread_id} with other content; use a new key for a new message"
        )
    return existing


def valid_title(title: str) -> str:
    try:
        return check_title(title)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


def check_move(thread: Thread, parent: Thread) -> None:
    if thread.thread_type is not ThreadType.TASK:
        raise InvalidInput(
            f"only task threads move; {thread.id} is a {thread.thread_type.value} (a project's parent is main)"
        )
    if parent.id == thread.id or parent.thread_type is ThreadType.TASK:
        raise InvalidInput(f"thread {parent.id} is a task; a task's parent must be a project or the main thread")
    if parent.status is ThreadStatus.ARCHIVED:
        raise InvalidInput(f"thread {parent.id} is archived; unarchive it first or pick an active project")


def check_unarchive(thread: Thread, parent: Thread | None) -> None:
    if parent is not None and parent.status is ThreadStatus.ARCHIVED:
        raise InvalidInput(f"its parent {parent.id} is archived; unarchive the parent first, or move this task")


def tombstone(by: str, at: datetime) -> tuple[str, dict[str, Any]]:
    """A redacted message's content and metadata: who removed it and when, nothing of what it said."""
    when = at.isoformat(timespec="seconds")
    return f"[redacted by {by} at {when}]", {"redacted": {"by": by, "at": when}}


def check_supersede(original: Message, correction: NewMessage) -> None:
    if original.thread_id != correction.thread_id:
        raise InvalidInput("a correction goes into the original message's thread")
    if original.metadata.get("superseded_by"):
        raise InvalidInput(
            f"message {original.id} was already corrected by {original.metadata['superseded_by']}; correct that one"
        )
    if original.metadata.get("redacted"):
        raise InvalidInput(f"message {original.id} is redacted; post a new message instead")


def born(new: NewThread, parent_id: str | None, at: datetime, thread_id: str | None = None) -> Thread:
    """The thread `new` asks for, active, born at `at`; the caller has checked it against the parent rules."""
    return Thread(
        id=thread_id or new_id("thr"),
        parent_id=parent_id,
        thread_type=new.thread_type,
        title=new.title,
        thread_context=new.thread_context,
        status=ThreadStatus.ACTIVE,
        created_at=at,
        updated_at=at,
    )
