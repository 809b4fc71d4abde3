"""The embedded default store: one SQLite file, WAL, foreign keys, FTS5, versioned migrations.

Blocking SQLite work runs in a worker thread behind one lock, so the event loop never waits
on disk and each write is one transaction (all or nothing).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from mainloop_mcp.errors import Conflict, InvalidInput, NotFound, StoreFailure
from mainloop_mcp.model import (
    Clock,
    Message,
    MessagePage,
    NewMessage,
    NewThread,
    Order,
    Thread,
    ThreadFilter,
    ThreadPage,
    ThreadStatus,
    ThreadType,
    check_thread_context,
    new_id,
    utc_now,
)
from mainloop_mcp.store import records
from mainloop_mcp.store.base import (
    check_limit,
    check_time_range,
    resolve_parent,
    same_message,
)
from mainloop_mcp.store.paging import THREADS, messages_keyset
from mainloop_mcp.store.sqlite.activity import SqliteActivity
from mainloop_mcp.store.sqlite.bulk_import import SqliteImport
from mainloop_mcp.store.sqlite.changes import CommitSignal, SqliteChangeLog
from mainloop_mcp.store.sqlite.edits import SqliteEdits
from mainloop_mcp.store.sqlite.memory import SqliteMemory, index_new_messages
from mainloop_mcp.store.sqlite.migrations import STEPS, migrate
from mainloop_mcp.store.sqlite.runs import SqliteAgentRuns
from mainloop_mcp.store.timestamps import from_micros, to_micros
from mainloop_mcp.store.vectors import VectorStore

T = TypeVar("T")

# The schema steps as SQL (migrations.py holds them, named, with `migrate`).
MIGRATIONS = [step.sql for step in STEPS]


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


def path_from_url(url: str) -> Path:
    """`sqlite:///relative.db` or `sqlite:////abs/path.db` -> a filesystem path."""
    return Path(url.removeprefix("sqlite:///")).expanduser()


class SqliteStore(SqliteMemory, SqliteAgentRuns, SqliteEdits, SqliteImport, SqliteActivity):
    """Store, SummaryStore, SearchIndex and AgentRunStore on one file; open with `await SqliteStore.open(path)`."""

    def __init__(self, conn: sqlite3.Connection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock
        self._lock = threading.Lock()
        self._commits = CommitSignal()
        self.write_failure: str | None = None  # why the last write failed, until one succeeds

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
            migrate(conn)
            return conn

        try:
            conn = await anyio.to_thread.run_sync(connect)
        except sqlite3.DatabaseError as exc:
            raise StoreFailure(f"the store {path} can't be opened: {storage_failure(exc) or exc}") from exc
        store = cls(conn, clock)
        await store._run(store._ensure_main)
        return store

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

    async def change_log(self) -> SqliteChangeLog:
        """The change log of this file, read on a connection of its own; told of this store's commits."""
        (path,) = await self._run(lambda: self._conn.execute("PRAGMA database_list").fetchone()[2:3])
        return await SqliteChangeLog.open(Path(path), self._commits)

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

    # threads -------------------------------------------------------------------------------

    def _ensure_main(self) -> Thread:
        with self._tx() as c:
            row = c.execute("SELECT * FROM threads WHERE thread_type = 'main'").fetchone()
            if row is not None:
                return records.THREADS.from_row(row)
            now = from_micros(self._now())
            main = Thread(
                id=new_id("thr"),
                parent_id=None,
                thread_type=ThreadType.MAIN,
                title="Main",
                thread_context="",
                status=ThreadStatus.ACTIVE,
                created_at=now,
                updated_at=now,
            )
            c.execute(records.THREADS.insert_sql(), records.THREADS.values(main))
            return main

    def _get_thread(self, thread_id: str) -> Thread:
        row = self._conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if row is None:
            raise NotFound(f"no thread with id {thread_id!r}; list_threads shows the ids that exist")
        return records.THREADS.from_row(row)

    async def main_thread(self) -> Thread:
        return await self._run(self._ensure_main)

    async def get_thread(self, thread_id: str) -> Thread:
        return await self._run(lambda: self._get_thread(thread_id))

    async def create_thread(self, new: NewThread) -> Thread:
        def create() -> Thread:
            with self._tx() as c:
                return self._create_thread_in(c, new)

        return await self._run(create)

    def _create_thread_in(self, c: sqlite3.Connection, new: NewThread) -> Thread:
        """Insert a thread inside the caller's transaction (agent runs create theirs with the run)."""
        main = records.THREADS.from_row(c.execute("SELECT * FROM threads WHERE thread_type = 'main'").fetchone())
        parent = self._get_thread(new.parent_id) if new.parent_id is not None else None
        parent_id = resolve_parent(new, parent, main)
        now = from_micros(self._now())
        thread = Thread(
            id=new_id("thr"),
            parent_id=parent_id,
            thread_type=new.thread_type,
            title=new.title,
            thread_context=new.thread_context,
            status=ThreadStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        c.execute(records.THREADS.insert_sql(), records.THREADS.values(thread))
        return thread

    async def list_threads(self, where: ThreadFilter, limit: int = 50, cursor: str | None = None) -> ThreadPage:
        check_limit(limit)
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("thread_type", where.thread_type),
            ("status", where.status),
            ("parent_id", where.parent_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(str(value))
        if (after := THREADS.after(cursor)) is not None:
            clauses.append("(created_at, id) < (?, ?)")
            params += after
        sql = "SELECT * FROM threads"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"

        def query() -> ThreadPage:
            rows, next_cursor = THREADS.cut(self._conn.execute(sql, [*params, limit + 1]).fetchall(), limit)
            return ThreadPage(threads=[records.THREADS.from_row(r) for r in rows], next_cursor=next_cursor)

        return await self._run(query)

    async def update_thread_context(self, thread_id: str, thread_context: str) -> Thread:
        try:
            check_thread_context(thread_context)
        except ValueError as exc:  # the model's rule, raised as the domain error the edge turns into a tool error
            raise InvalidInput(str(exc)) from exc
        return await self._update(thread_id, "thread_context = ?", thread_context)

    async def archive_thread(self, thread_id: str) -> Thread:
        def archive() -> Thread:
            if self._get_thread(thread_id).thread_type is ThreadType.MAIN:
                raise InvalidInput("the main thread can't be archived; it is the one continuous thread")
            return self._update_now(thread_id, "status = ?", ThreadStatus.ARCHIVED.value)

        return await self._run(archive)

    async def _update(self, thread_id: str, assignment: str, value: str) -> Thread:
        return await self._run(lambda: self._update_now(thread_id, assignment, value))

    def _update_now(self, thread_id: str, assignment: str, value: str) -> Thread:
        with self._tx() as c:
            self._get_thread(thread_id)
            c.execute(f"UPDATE threads SET {assignment}, updated_at = ? WHERE id = ?", (value, self._now(), thread_id))
            return self._get_thread(thread_id)

    # messages ------------------------------------------------------------------------------

    def _insert(self, c: sqlite3.Connection, batch: list[NewMessage]) -> list[Message | str]:
        """Insert messages in one statement; for each, its new id, or the earlier message for a seen key.

        FTS rows are added in bulk after the insert (not by trigger): five times faster on big batches.
        """
        outcome: list[Message | str] = []
        rows: list[tuple[Any, ...]] = []
        keys_in_batch: dict[str, NewMessage] = {}
        for new in batch:
            key = new.idempotency_key
            if key is not None:
                row = c.execute("SELECT * FROM messages WHERE idempotency_key = ?", (key,)).fetchone()
                if row is not None:
                    outcome.append(same_message(records.MESSAGES.from_row(row), new))
                    continue
                if key in keys_in_batch:
                    # Same key twice in one batch: keep the first, refuse a different second.
                    first = keys_in_batch[key]
                    if (first.thread_id, first.role, first.content) != (new.thread_id, new.role, new.content):
                        raise Conflict(f"idempotency_key {key!r} appears twice in one batch with other content")
                    outcome.append(outcome[batch.index(first)])
                    continue
                keys_in_batch[key] = new
            created = to_micros(new.created_at) if new.created_at else self._now()
            message_id = new_id("msg")
            rows.append(
                (
                    message_id,
                    new.thread_id,
                    new.role.value,
                    new.content,
                    created,
                    key,
                    json.dumps(new.metadata) if new.metadata else "{}",
                )
            )
            outcome.append(message_id)
        if not rows:
            return outcome
        first_seq = c.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0]
        c.executemany(records.MESSAGES.insert_sql(), rows)  # rows in records.MESSAGES.names order
        index_new_messages(c, first_seq)
        latest: dict[str, int] = {}
        for row_values in rows:
            latest[row_values[1]] = max(latest.get(row_values[1], 0), row_values[4])
        c.executemany(
            "UPDATE threads SET updated_at = max(updated_at, ?) WHERE id = ?", [(t, tid) for tid, t in latest.items()]
        )
        return outcome

    async def post_message(self, new: NewMessage) -> Message:
        def post() -> Message:
            with self._tx() as c:
                self._get_thread(new.thread_id)
                outcome = self._insert(c, [new])[0]
                if isinstance(outcome, Message):
                    return outcome
                return records.MESSAGES.from_row(
                    c.execute("SELECT * FROM messages WHERE id = ?", (outcome,)).fetchone()
                )

        return await self._run(post)

    async def append_messages(self, batch: list[NewMessage]) -> int:
        def append() -> int:
            with self._tx() as c:
                for thread_id in {m.thread_id for m in batch}:
                    self._get_thread(thread_id)
                return len(set(o for o in self._insert(c, batch) if isinstance(o, str)))

        return await self._run(append)

    async def read_messages(
        self,
        thread_id: str,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = Order.NEWEST,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> MessagePage:
        check_limit(limit)
        check_time_range(since, until)
        clauses: list[str] = ["thread_id = ?"]
        params: list[Any] = [thread_id]
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(to_micros(since))
        if until is not None:
            clauses.append("created_at < ?")
            params.append(to_micros(until))
        newest = order is Order.NEWEST
        keyset = messages_keyset(order.value)
        if (after := keyset.after(cursor)) is not None:
            clauses.append(f"(created_at, seq) {'<' if newest else '>'} (?, ?)")
            params += after
        direction = "DESC" if newest else "ASC"
        sql = (
            f"SELECT * FROM messages WHERE {' AND '.join(clauses)}"
            f" ORDER BY created_at {direction}, seq {direction} LIMIT ?"
        )

        def query() -> MessagePage:
            self._get_thread(thread_id)
            rows, next_cursor = keyset.cut(self._conn.execute(sql, [*params, limit + 1]).fetchall(), limit)
            return MessagePage(messages=[records.MESSAGES.from_row(r) for r in rows], next_cursor=next_cursor)

        return await self._run(query)

    def vectors(self, model: str, dim: int) -> VectorStore[Any]:
        from mainloop_mcp.store.sqlite.vectors import SqliteVectors  # numpy: the semantic extra

        return SqliteVectors(self, model, dim)

    async def close(self) -> None:
        await self._run(self._conn.close)
