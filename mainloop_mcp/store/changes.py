"""Change records: what a committed write changed, in one order every process agrees on.

A backend that keeps a change log implements `ChangeLog`; the hub's change feed reads it and fans
each record out once to every session and the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# The resource whose content is the tree of active threads (create, rename, move, archive).
ACTIVE_THREADS_URI = "threads://active"
# The resource listing the newest agent runs (any run's status change).
RECENT_AGENTS_URI = "agents://recent"


@dataclass(frozen=True, slots=True)
class Change:
    """One changed resource: `seq` rises by one order across every process sharing the store."""

    seq: int
    uri: str
    thread_id: str | None

    @property
    def tree(self) -> bool:
        """Whether the set of threads (and so the resource list) changed."""
        return self.uri == ACTIVE_THREADS_URI


@runtime_checkable
class ChangeLog(Protocol):
    """Where a store's committed changes can be read back, in sequence order."""

    async def latest(self, limit: int) -> list[Change]:
        """The newest `limit` changes, oldest first (to fill the feed's history on start)."""
        ...

    async def changes_after(self, seq: int, limit: int) -> list[Change] | None:
        """Up to `limit` changes after `seq`, oldest first; None when nothing was committed since the
        last call (a cheap check, so callers may ask often)."""
        ...

    def on_commit(self, listener: ChangeListener) -> None:
        """Call `listener()` on the event loop after each write this process commits."""
        ...

    async def prune(self, keep: int) -> None:
        """Forget all but the newest `keep` changes."""
        ...

    async def close(self) -> None: ...


class ChangeListener(Protocol):
    def __call__(self) -> None: ...


@runtime_checkable
class KeepsChanges(Protocol):
    """A store that logs its changes."""

    async def change_log(self) -> ChangeLog: ...
