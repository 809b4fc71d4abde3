"""Threads in the SQLite store: the main thread, create, list, update, archive."""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from mainloop_mcp.errors import InvalidInput, NotFound
from mainloop_mcp.model import (
    NewThread,
    Thread,
    ThreadFilter,
    ThreadPage,
    ThreadStatus,
    ThreadType,
    check_thread_context,
)
from mainloop_mcp.store import records
from mainloop_mcp.store.paging import THREADS
from mainloop_mcp.store.rules import born, check_limit, resolve_parent
from mainloop_mcp.store.sqlite.core import SqliteCore
from mainloop_mcp.store.timestamps import from_micros

T = TypeVar("T")


class SqliteThreads(SqliteCore):
    def _ensure_main(self) -> Thread:
        with self._tx() as c:
            row = c.execute("SELECT * FROM threads WHERE thread_type = 'main'").fetchone()
            if row is not None:
                return records.THREADS.from_row(row)
            now = from_micros(self._now())
            main = born(NewThread(thread_type=ThreadType.MAIN, title="Main"), None, now)
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
        thread = born(new, parent_id, now)
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
