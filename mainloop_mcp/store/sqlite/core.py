"""What every part of the SQLite store stands on: one connection, used in a worker thread behind one
lock, so the event loop never waits on disk, and each write is one transaction (all or nothing).

The store's parts (threads, messages, memory, runs, edits, import, activity) are small classes over
this one; `store.SqliteStore` puts them together.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import anyio.to_thread

from mainloop_mcp.errors import StoreFailure
from mainloop_mcp.model import (
    Clock,
)
from mainloop_mcp.store.sqlite.changes import CommitSignal
from mainloop_mcp.store.sqlite.topk import TopK
from mainloop_mcp.store.timestamps import to_micros

T = TypeVar("T")


FAILURES = {
    "SQLITE_FULL": "the disk holding the database is full",
    "SQLITE_READONLY": "the database file is read-only",
    "SQLITE_CORRUPT": "the database file is corrupt (restore it from a backup)",
    "SQLITE_NOTADB": "the file is not a SQLite database",
    "SQLITE_IOERR": "the disk reported an I/O error",
    "SQLITE_CANTOPEN": "the database file can't be opened",
    "SQLITE_BUSY": "another process holds the database locked",
    "SQLITE_PERM": "permission denied",
}


def storage_failure(exc: sqlite3.DatabaseError) -> str | None:
    """A storage-level SQLite error as one line; None for errors that are bugs or rules (constraints, SQL)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, reason in FAILURES.items():
        if name.startswith(prefix):
            return f"{reason} ({exc})"
    return None


class SqliteCore:
    """The connection, its lock and transactions, the clock, and why writes last failed."""

    def __init__(self, conn: sqlite3.Connection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock
        self._lock = threading.Lock()
        self._commits = CommitSignal()
        self.write_failure: str | None = None  # why the last write failed, until one succeeds
        self.topk: TopK | None = None  # the ranking index beside the file (store.SqliteStore.open sets it)

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for modules that keep their own tables in this file (memory, agents)."""
        return self._conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in a worker thread inside one transaction (for modules sharing this file)."""
        return await self._run(lambda: self._in_tx(fn))

    async def _run(self, fn: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn()

        before = self._commits.commits
        try:
            result = await anyio.to_thread.run_sync(locked)
        except sqlite3.DatabaseError as exc:
            reason = storage_failure(exc)
            if reason is None:
                raise
            self.write_failure = reason
            raise StoreFailure(f"the database could not do it: {reason}; nothing was written") from exc
        finally:
            self._commits.after(before)
        if self._commits.commits != before:
            self.write_failure = None
        return result

    async def check_writes(self) -> str | None:
        """Why writes fail (the last write's error, or a probe taking the write lock fails), or None."""
        if self.write_failure is not None:
            return self.write_failure

        def probe() -> None:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("ROLLBACK")

        try:
            await self._run(probe)
        except StoreFailure:
            pass
        return self.write_failure

    def _in_tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._tx():
            return fn(self._conn)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self._commits.commits += 1

    def _now(self) -> int:
        return to_micros(self._clock())
