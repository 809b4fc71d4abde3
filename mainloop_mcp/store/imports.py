"""What an import hands the store: whole threads with their messages, keyed by where they came from.

Plain slotted dataclasses, not pydantic: an import moves millions of messages and validates each one
once, in the importer (see `importers/records.py`), so the store only inserts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from mainloop_mcp.model import ThreadType


@dataclass(frozen=True, slots=True)
class ImportedMessage:
    key: str  # idempotency key: the source's own id, namespaced (e.g. "cc:<session>:<uuid>")
    role: str  # a Role value
    content: str
    created_us: int  # original time, microseconds since the epoch (UTC)
    metadata: str = "{}"  # JSON object text


@dataclass(slots=True)
class ImportedThread:
    """A thread found in a source. Projects come before their tasks in a batch, or were imported earlier."""

    source_key: str  # e.g. "cc:session:<id>"; the same source always lands in the same thread
    title: str
    thread_type: ThreadType  # PROJECT (under main) or TASK (under `parent_key`'s thread)
    parent_key: str | None = None
    context: str = ""
    messages: list[ImportedMessage] = field(default_factory=list)
    position: int | None = None  # how far the source has been read (the hook's byte offset); None keeps it


@dataclass
class ImportCounts:
    threads_created: int = 0
    messages_added: int = 0
    duplicates: int = 0
    thread_ids: dict[str, str] = field(default_factory=dict)  # source_key -> thread id, for every thread in the batch

    def add(self, other: ImportCounts) -> None:
        self.threads_created += other.threads_created
        self.messages_added += other.messages_added
        self.duplicates += other.duplicates
        self.thread_ids.update(other.thread_ids)


@runtime_checkable
class ImportSink(Protocol):
    """A store that takes imports. Each call is one transaction: whole threads or nothing."""

    async def import_threads(self, batch: list[ImportedThread]) -> ImportCounts:
        """Create missing threads (found again by `source_key`), add the messages whose keys are new."""
        ...

    async def import_source(self, source_key: str) -> tuple[str, int] | None:
        """The thread a source landed in and how far it was read; None when never imported."""
        ...
