"""The store contract every backend keeps: its protocols (threads and messages, summaries and search,
agent runs, edits, activity) and the `Backend` that holds them all.

Backends differ in SQL, never in behaviour: the shared rules are in rules.py, cursors in paging.py,
columns in records.py, and one contract test suite runs over each backend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable

from mainloop_mcp.errors import MainloopError
from mainloop_mcp.model import (
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
