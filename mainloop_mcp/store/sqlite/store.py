"""The embedded default store: one SQLite file, WAL, foreign keys, FTS5, versioned migrations.

`SqliteStore` is its parts put together (each a small class over `core.SqliteCore`, the one
connection): threads, messages, memory (summaries and search), agent runs, edits, bulk import,
activity.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from mainloop_mcp.errors import StoreFailure
from mainloop_mcp.model import (
    Clock,
    utc_now,
)
from mainloop_mcp.store.sqlite.activity import SqliteActivity
from mainloop_mcp.store.sqlite.bulk_import import SqliteImport
from mainloop_mcp.store.sqlite.changes import SqliteChangeLog
from mainloop_mcp.store.sqlite.core import storage_failure
from mainloop_mcp.store.sqlite.edits import SqliteEdits
from mainloop_mcp.store.sqlite.memory import SqliteMemory
from mainloop_mcp.store.sqlite.migrations import STEPS, migrate
from mainloop_mcp.store.sqlite.runs import SqliteAgentRuns
from mainloop_mcp.store.sqlite.topk import TopK
from mainloop_mcp.store.vectors import VectorStore

T = TypeVar("T")

# The schema steps as SQL (migrations.py holds them, named, with `migrate`).
MIGRATIONS = [step.sql for step in STEPS]


def path_from_url(url: str) -> Path:
    """`sqlite:///relative.db` or `sqlite:////abs/path.db` -> a filesystem path."""
    return Path(url.removeprefix("sqlite:///")).expanduser()


class SqliteStore(SqliteMemory, SqliteAgentRuns, SqliteEdits, SqliteImport, SqliteActivity):
    """Store, SummaryStore, SearchIndex and AgentRunStore on one file; open with `await SqliteStore.open(path)`."""

    @classmethod
    async def open(cls, path: Path | str, clock: Clock = utc_now) -> SqliteStore:
        path = Path(path)
        if path.is_dir():
            raise StoreFailure(f"the store {path} is a folder; give a database file such as {path / 'mainloop.db'}")
        path.parent.mkdir(parents=True, exist_ok=True)

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            # 16 MiB of page cache (SQLite's default is 2 MiB): index pages stay in memory while a batch
            # inserts keys in no particular order (imports: +15% measured, bench/import_bench.py)
            conn.execute("PRAGMA cache_size=-16384")
            migrate(conn)
            return conn

        try:
            conn = await anyio.to_thread.run_sync(connect)
        except sqlite3.DatabaseError as exc:
            raise StoreFailure(f"the store {path} can't be opened: {storage_failure(exc) or exc}") from exc
        store = cls(conn, clock)
        store.topk = TopK(path)
        await store._run(store._ensure_main)
        return store

    async def change_log(self) -> SqliteChangeLog:
        """The change log of this file, read on a connection of its own; told of this store's commits."""
        (path,) = await self._run(lambda: self._conn.execute("PRAGMA database_list").fetchone()[2:3])
        return await SqliteChangeLog.open(Path(path), self._commits)

    def vectors(self, model: str, dim: int) -> VectorStore[Any]:
        from mainloop_mcp.store.sqlite.vectors import SqliteVectors  # numpy: the semantic extra

        return SqliteVectors(self, model, dim)

    async def close(self) -> None:
        if self.topk:
            await anyio.to_thread.run_sync(self.topk.close)
        await self._run(self._conn.close)
