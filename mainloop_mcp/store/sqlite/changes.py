"""The SQLite change log: a `changes` table written by triggers in the same transaction as every write.

Triggers (not application code) write the records, so every committed write is logged whoever made
it: this process, another `mainloop` process on the same file, an import, a redaction. Readers use
a connection of their own and look at the table only when `PRAGMA data_version` says another
connection committed, so an idle hub never reads a table.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from mainloop_mcp.store.changes import Change, ChangeListener

T = TypeVar("T")


class CommitSignal:
    """Counts the commits of one connection and tells listeners (on the event loop) that one happened."""

    def __init__(self) -> None:
        self.commits = 0
        self._listeners: list[ChangeListener] = []

    def listen(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def after(self, commits_before: int) -> None:
        if self.commits != commits_before:
            for listener in self._listeners:
                listener()


class SqliteChangeLog:
    """ChangeLog over its own read connection to the store's file."""

    def __init__(self, conn: sqlite3.Connection, signal: CommitSignal) -> None:
        self._conn = conn
        self._signal = signal
        self._lock = threading.Lock()
        self._seen_version: int | None = None

    @classmethod
    async def open(cls, path: Path, signal: CommitSignal) -> SqliteChangeLog:
        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=5000")
            return conn

        return cls(await anyio.to_thread.run_sync(connect), signal)

    async def _run(self, fn: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn()

        return await anyio.to_thread.run_sync(locked)

    def _select(self, sql: str, params: tuple[int, ...]) -> list[Change]:
        return [Change(seq, uri, thread) for seq, uri, thread in self._conn.execute(sql, params).fetchall()]

    async def latest(self, limit: int) -> list[Change]:
        sql = "SELECT seq, uri, thread_id FROM (SELECT * FROM changes ORDER BY seq DESC LIMIT ?) ORDER BY seq"
        return await self._run(lambda: self._select(sql, (limit,)))

    async def changes_after(self, seq: int, limit: int) -> list[Change] | None:
        # data_version is a look at the WAL index in shared memory: cheap enough for the event loop,
        # so an idle hub never hops to a worker thread. Only a moved version costs a read.
        with self._lock:
            (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        if version == self._seen_version:
            return None

        def read() -> list[Change]:
            sql = "SELECT seq, uri, thread_id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?"
            changes = self._select(sql, (seq, limit))
            if len(changes) < limit:  # read to the end: nothing more until the next commit
                self._seen_version = version
            return changes

        return await self._run(read)

    def on_commit(self, listener: ChangeListener) -> None:
        self._signal.listen(listener)

    async def prune(self, keep: int) -> None:
        def delete() -> None:
            self._conn.execute("DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?", (keep,))

        await self._run(delete)

    async def close(self) -> None:
        await self._run(self._conn.close)
