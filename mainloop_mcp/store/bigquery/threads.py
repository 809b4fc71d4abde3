"""Threads in the BigQuery store: the main thread (one MERGE, so concurrent starts make one), create,
list, update, archive."""

from __future__ import annotations

from typing import Any

from mainloop_mcp.errors import InvalidInput, NotFound
from mainloop_mcp.model import (
    NewThread,
    Thread,
    ThreadFilter,
    ThreadPage,
    ThreadType,
    check_thread_context,
    new_id,
)
from mainloop_mcp.store import records
from mainloop_mcp.store.bigquery.client import scalar
from mainloop_mcp.store.bigquery.core import BigQueryCore
from mainloop_mcp.store.bigquery.rows import (
    THREAD_COLUMNS,
    after_clause,
    after_params,
    bq_column,
    insert_sql,
    params_row,
    scalars,
    thread_from_row,
)
from mainloop_mcp.store.paging import THREADS
from mainloop_mcp.store.rules import born, check_limit, resolve_parent
from mainloop_mcp.store.timestamps import from_micros


class BigQueryThreads(BigQueryCore):
    async def _ensure_main(self) -> Thread:
        """Insert the main thread unless one exists; one MERGE, so concurrent starts make one."""
        now = self._now()
        await self.bq.dml(
            f"MERGE {self._threads} T USING (SELECT @id AS id) S ON T.thread_type = 'main'"
            " WHEN NOT MATCHED THEN INSERT (id, parent_id, thread_type, title, thread_context, status,"
            " created_at, updated_at) VALUES (S.id, NULL, 'main', 'Main', '', 'active',"
            " TIMESTAMP_MICROS(@now), TIMESTAMP_MICROS(@now))",
            [scalar("id", "STRING", new_id("thr")), scalar("now", "INT64", now)],
        )
        return await self.main_thread()

    async def main_thread(self) -> Thread:
        rows = await self.bq.rows(
            f"SELECT {THREAD_COLUMNS} FROM {self._threads} WHERE thread_type = 'main' ORDER BY created_at, id LIMIT 1"
        )
        if not rows:
            return await self._ensure_main()
        return thread_from_row(rows[0])

    async def get_thread(self, thread_id: str) -> Thread:
        rows = await self.bq.rows(
            f"SELECT {THREAD_COLUMNS} FROM {self._threads} WHERE id = @id", [scalar("id", "STRING", thread_id)]
        )
        if not rows:
            raise NotFound(f"no thread with id {thread_id!r}; list_threads shows the ids that exist")
        return thread_from_row(rows[0])

    async def create_thread(self, new: NewThread) -> Thread:
        thread = await self.new_thread(new)
        await self.insert_thread(thread)
        return thread

    async def new_thread(self, new: NewThread) -> Thread:
        """The thread `new` asks for, checked against the parent rules (one query), not yet stored."""
        rows = await self.bq.rows(
            f"SELECT {THREAD_COLUMNS} FROM {self._threads} WHERE thread_type = 'main' OR id = @parent"
            " ORDER BY created_at, id",
            [scalar("parent", "STRING", new.parent_id)],
        )
        found = [thread_from_row(r) for r in rows]
        main = next(t for t in found if t.thread_type is ThreadType.MAIN)
        parent = next((t for t in found if t.id == new.parent_id), None)
        if new.parent_id is not None and parent is None:
            raise NotFound(f"no thread with id {new.parent_id!r}; list_threads shows the ids that exist")
        now = from_micros(self._now())
        return born(new, resolve_parent(new, parent, main), now)

    async def insert_thread(self, thread: Thread) -> None:
        row = params_row(records.THREADS, thread)
        await self.bq.dml(insert_sql(records.THREADS, self._threads, row), scalars(row))

    async def list_threads(self, where: ThreadFilter, limit: int = 50, cursor: str | None = None) -> ThreadPage:
        check_limit(limit)
        clauses: list[str] = []
        params: list[Any] = [scalar("limit", "INT64", limit + 1)]
        for column, value in (
            ("thread_type", where.thread_type),
            ("status", where.status),
            ("parent_id", where.parent_id),
        ):
            if value is not None:
                clauses.append(f"{column} = @{column}")
                params.append(scalar(column, "STRING", str(value)))
        if (after := THREADS.after(cursor)) is not None:
            clauses.append(after_clause(THREADS, "<"))
            params += after_params(THREADS, after)
        sql = f"SELECT {THREAD_COLUMNS} FROM {self._threads}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = await self.bq.rows(sql + " ORDER BY created_at DESC, id DESC LIMIT @limit", params)
        rows, next_cursor = THREADS.cut(rows, limit, bq_column)
        return ThreadPage(threads=[thread_from_row(r) for r in rows], next_cursor=next_cursor)

    async def update_thread_context(self, thread_id: str, thread_context: str) -> Thread:
        try:
            check_thread_context(thread_context)
        except ValueError as exc:  # the model's rule, raised as the domain error the edge turns into a tool error
            raise InvalidInput(str(exc)) from exc
        changed = await self.bq.dml(
            f"UPDATE {self._threads} SET thread_context = @context, updated_at = TIMESTAMP_MICROS(@now) WHERE id = @id",
            [
                scalar("context", "STRING", thread_context),
                scalar("now", "INT64", self._now()),
                scalar("id", "STRING", thread_id),
            ],
        )
        if not changed:
            raise NotFound(f"no thread with id {thread_id!r}; list_threads shows the ids that exist")
        return await self.get_thread(thread_id)

    async def archive_thread(self, thread_id: str) -> Thread:
        changed = await self.bq.dml(
            f"UPDATE {self._threads} SET status = 'archived', updated_at = TIMESTAMP_MICROS(@now)"
            " WHERE id = @id AND thread_type != 'main'",
            [scalar("now", "INT64", self._now()), scalar("id", "STRING", thread_id)],
        )
        thread = await self.get_thread(thread_id)
        if not changed and thread.thread_type is ThreadType.MAIN:
            raise InvalidInput("the main thread can't be archived; it is the one continuous thread")
        return thread
