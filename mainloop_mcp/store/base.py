"""The store contract every backend keeps, plus the rules all backends share.

Backends differ in SQL, never in behaviour: the thread-parent rules, cursors and
idempotency semantics live here once, and one contract test suite runs over each backend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable

from mainloop_mcp.errors import Conflict, InvalidInput, MainloopError
from mainloop_mcp.model import (
    MAX_PAGE_SIZE,
    AgentRun,
    AgentRunPage,
    Granularity,
    Message,
    MessagePage,
    NewAgentRun,
    NewMessage,
    NewSummary,
    NewThread,
    Order,
    RunStatus,
    SearchHit,
    Summary,
    TextQuery,
    Thread,
    ThreadFilter,
    ThreadPage,
    ThreadStatus,
    ThreadType,
    check_title,
)
from mainloop_mcp.store.vectors import VectorStore


class Store(Protocol):
    """Persistence for threads and messages. Every write is atomic; reads never see half a write."""

    async def main_thread(self) -> Thread: ...

    async def create_thread(self, new: NewThread) -> Thread: ...

    async def get_thread(self, thread_id: str) -> Thread: ...

    async def list_threads(self, where: ThreadFilter, limit: int = 50, cursor: str | None = None) -> ThreadPage: ...

    async def update_thread_context(self, thread_id: str, thread_context: str) -> Thread: ...

    async def archive_thread(self, thread_id: str) -> Thread: ...

    async def post_message(self, new: NewMessage) -> Message:
        """Append one message; a repeated idempotency key returns the first message instead."""
        ...

    async def append_messages(self, batch: list[NewMessage]) -> int:
        """Append many messages in one transaction (imports, benchmarks); returns how many were new."""
        ...

    async def read_messages(
        self,
        thread_id: str,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = Order.NEWEST,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> MessagePage:
        """Messages of one thread, `since` inclusive and `until` exclusive, paginated by cursor."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class WriteHealth(Protocol):
    """A store that knows whether its writes work (for /healthz): SqliteStore."""

    write_failure: str | None

    async def check_writes(self) -> str | None:
        """Why writes fail now, or None."""
        ...


RunPosts = Callable[[AgentRun], list[NewMessage]]
"""What the end of a run posts, in the same transaction as the end (worded by agents/reports.py)."""


@runtime_checkable
class AgentRunStore(Protocol):
    """Persistence for sub-agent runs. A run and its task thread are born together and end together.

    Kept apart from `Store` so a backend can hold threads without agents; SqliteStore and BigQueryStore implement it.
    """

    async def create_run(self, new: NewAgentRun) -> AgentRun:
        """Create the task thread under `new.parent_thread_id` and the queued run in one transaction."""
        ...

    async def get_run(self, run_id: str) -> AgentRun: ...

    async def list_runs(
        self,
        status: RunStatus | None = None,
        parent_thread_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AgentRunPage:
        """Runs, newest first."""
        ...

    async def start_run(self, run_id: str, external_id: str | None = None) -> AgentRun:
        """queued -> running; a run that already finished (e.g. cancelled meanwhile) is returned unchanged."""
        ...

    async def finish_run(
        self, run_id: str, status: RunStatus, result: str | None = None, error: str | None = None, *, posts: RunPosts
    ) -> AgentRun:
        """Record how a run ended and, in the same transaction, post `posts(run)` (its result into the task
        thread, a one-line outcome into the parent). Only the first finish counts; later ones return it."""
        ...

    async def interrupt_unfinished(
        self, reason: str, owner_gone: Callable[[str], bool], *, posts: RunPosts
    ) -> list[AgentRun]:
        """Mark queued or running runs whose owner process is gone interrupted (error `reason`), with their posts.

        Runs owned by a hub that is still alive (e.g. `mainloop serve` while `mainloop stdio` starts on the
        same file) are left alone."""
        ...


def check_finish(status: RunStatus) -> None:
    if not status.finished:
        raise InvalidInput(f"finish_run needs a final status; got {status.value!r}")


@runtime_checkable
class SummaryStore(Protocol):
    """Persistence for the temporal pyramid, kept apart from `Store` so backends can add it later.

    A summary is keyed by (thread_id, granularity, period_start). A message stored later inside
    a summarised period marks every summary covering that instant stale.
    """

    async def put_summaries(self, batch: list[NewSummary]) -> list[Summary]:
        """Insert or replace the summaries of some periods in one transaction (all or none); returns
        them in order. One is stored stale when its period's message count no longer equals its
        `source_message_count` (a message raced the build)."""
        ...

    async def get_summaries(
        self, thread_id: str, granularity: Granularity, since: datetime, until: datetime
    ) -> list[Summary]:
        """Summaries of one granularity whose period starts in [since, until), oldest first."""
        ...

    async def count_messages(self, thread_id: str, ranges: list[tuple[datetime, datetime]]) -> list[int]:
        """Message counts of one thread in each range [start, end); one round trip for them all."""
        ...

    async def message_span(self, thread_id: str) -> tuple[datetime, datetime] | None:
        """Times of the thread's first and last message, or None when it has none."""
        ...


@runtime_checkable
class SearchIndex(Protocol):
    """Full-text search (BM25) over messages and summaries."""

    async def search_text(
        self,
        query: TextQuery,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        """Messages and summaries matching `query` (see TextQuery), best first, each with its thread's
        title and its text for re-ranking. Messages match on created_at, summaries on period overlap;
        synced copies of summaries (messages of role summary) are left to the summary they copy."""
        ...

    async def search_threads(self, query: TextQuery, limit: int = 5) -> list[SearchHit]:
        """Active threads whose title or standing context match `query`, best first (kind "thread")."""
        ...


class MemoryStore(Store, SummaryStore, SearchIndex, Protocol):
    """A store that keeps everything the memory needs."""


class ActivityStore(Protocol):
    """What triage shows per thread, for many threads in one read."""

    async def thread_activity(self, thread_ids: list[str]) -> dict[str, tuple[int, Message]]:
        """Per thread with messages: how many it has and its newest (threads without any are left out)."""
        ...


class Backend(MemoryStore, AgentRunStore, ActivityStore, Protocol):
    """What every backend keeps (SQLite and BigQuery alike): threads, messages, the memory and agent runs."""

    def vectors(self, model: str, dim: int) -> VectorStore[Any]:
        """Where this store keeps message vectors of `model` (needs the semantic extra's numpy)."""
        ...


def memory_store(store: Store) -> MemoryStore:
    """The store as a MemoryStore, or a clear error for a store that keeps no summaries."""
    if isinstance(store, SummaryStore) and isinstance(store, SearchIndex):
        return cast(MemoryStore, store)
    raise MainloopError(f"the {type(store).__name__} store keeps no summaries or search index")


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


@runtime_checkable
class EditStore(Protocol):
    """Changes after the fact: rename, move and unarchive threads; redact and supersede messages."""

    async def rename_thread(self, thread_id: str, title: str) -> Thread: ...

    async def move_thread(self, thread_id: str, parent_id: str) -> Thread:
        """Give a task thread another parent (a project or main); `check_move` holds the rules."""
        ...

    async def unarchive_thread(self, thread_id: str) -> Thread: ...

    async def get_message(self, message_id: str) -> Message: ...

    async def redact_message(self, message_id: str, by: str) -> Message:
        """Replace a message's content by a tombstone (who, when) in the store and the search index,
        and drop the thread's summaries that cover it (they are rebuilt from what is left)."""
        ...

    async def supersede_message(self, message_id: str, correction: NewMessage) -> Message:
        """Append `correction` and mark the original superseded by it, in one transaction; the original
        keeps its content (history shows it) but leaves context and search."""
        ...


class EditableStore(Store, EditStore, Protocol):
    """A store that keeps threads and messages and allows the edits."""


def edit_store(store: Store) -> EditableStore:
    if isinstance(store, EditStore):
        return cast(EditableStore, store)
    raise MainloopError(f"the {type(store).__name__} backend can't rename, move, correct or redact yet")


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
