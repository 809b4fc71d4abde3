"""The production store: threads and messages in BigQuery, same contract as SQLite.

Messages are partitioned by DATE(created_at) and clustered by thread_id, so reading one
thread's recent messages scans only that thread's blocks in the recent partitions. Each write
is one DML statement (atomic in BigQuery); appends are MERGEs on the idempotency key, so a
replayed post never doubles. A new message is followed by two more statements, run at the same
time (BigQuery DML touches one table per statement): an UPDATE bumping its thread's updated_at
and an UPDATE marking the summaries covering it stale. If the process dies after the MERGE,
updated_at lags until the thread's next message and a covering summary stays fresh until the
next message in its period. Summaries and search live in memory.py, agent runs in
runs.py.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import anyio

from mainloop_mcp.errors import InvalidInput, NotFound
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
from mainloop_mcp.store.bigquery.activity import BigQueryActivity
from mainloop_mcp.store.bigquery.changes import BigQueryChangeLog
from mainloop_mcp.store.bigquery.client import BigQueryClient, array, scalar, struct_array
from mainloop_mcp.store.bigquery.edits import BigQueryEdits
from mainloop_mcp.store.bigquery.memory import BigQueryMemory
from mainloop_mcp.store.bigquery.rows import (
    MESSAGE_COLUMNS,
    THREAD_COLUMNS,
    after_clause,
    after_params,
    bq_column,
    insert_sql,
    merge_sql,
    message_from_row,
    params_row,
    scalars,
    thread_from_row,
)
from mainloop_mcp.store.bigquery.runs import BigQueryAgentRuns
from mainloop_mcp.store.bigquery.schema import BigQueryTarget
from mainloop_mcp.store.bigquery.search import SEARCHED_TABLES, search_index_ddl
from mainloop_mcp.store.changes import ChangeLog
from mainloop_mcp.store.paging import THREADS, messages_keyset
from mainloop_mcp.store.timestamps import from_micros, to_micros
from mainloop_mcp.store.vectors import VectorStore


class _Sequencer:
    """Post order for messages with equal timestamps: a per-process, strictly rising microsecond count."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last


class BigQueryStore(BigQueryMemory, BigQueryAgentRuns, BigQueryEdits, BigQueryActivity):
    """Store, SummaryStore, SearchIndex and AgentRunStore on one BigQuery dataset.

    Open with `await BigQueryStore.open("bigquery://project/dataset")`."""

    def __init__(self, bq: BigQueryClient, clock: Clock) -> None:
        self.bq = bq
        self._clock = clock
        self._seq = _Sequencer()
        self._threads = bq.target.table("threads")
        self._messages = bq.target.table("messages")

    @classmethod
    async def open(cls, url: str, clock: Clock = utc_now) -> BigQueryStore:
        store = cls(await BigQueryClient.connect(BigQueryTarget.parse(url)), clock)
        try:
            if store.bq.target.search == "function":
                for table in SEARCHED_TABLES:
                    await store.bq.dml(search_index_ddl(store.bq.target, table))
            await store._ensure_main()
        except BaseException:
            await store.close()
            raise
        return store

    def _now(self) -> int:
        return to_micros(self._clock())

    async def change_log(self) -> ChangeLog:
        """Changes seen by polling (?changes=SECONDS in the URL); a log that never changes when that is 0."""
        every = self.bq.target.changes_every
        return BigQueryChangeLog(self.bq, every if every > 0 else float("inf"))

    # threads -------------------------------------------------------------------------------

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
        return Thread(
            id=new_id("thr"),
            parent_id=resolve_parent(new, parent, main),
            thread_type=new.thread_type,
            title=new.title,
            thread_context=new.thread_context,
            status=ThreadStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )

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

    # messages ------------------------------------------------------------------------------

    def _fill(self, new: NewMessage) -> Message:
        created = from_micros(to_micros(new.created_at or self._clock()))
        return Message(
            id=new_id("msg"),
            thread_id=new.thread_id,
            role=new.role,
            content=new.content,
            created_at=created,
            idempotency_key=new.idempotency_key,
            metadata=new.metadata,
        )

    def message_row(self, m: Message) -> dict[str, tuple[str, Any]]:
        return params_row(records.MESSAGES, m, seq=("INT64", self._seq.next()))

    def merge_messages_sql(self, source: str, key: str = "idempotency_key") -> str:
        """Insert the source rows whose `key` is new (a NULL key never matches, so it always inserts)."""
        return merge_sql(records.MESSAGES, self._messages, source, key, stored=("seq",))

    async def after_insert(self, messages: list[Message]) -> None:
        """What SQLite does by trigger and in the same transaction: bump each thread's updated_at and mark
        the summaries covering the new messages stale. Two statements on two tables, run at once."""
        latest: dict[str, int] = {}
        for m in messages:
            latest[m.thread_id] = max(latest.get(m.thread_id, 0), to_micros(m.created_at))
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._touch_threads, latest)
                tg.start_soon(self.mark_stale, {(m.thread_id, to_micros(m.created_at)) for m in messages})
        except BaseExceptionGroup as group:  # callers and the edge expect the plain error, not a group
            raise group.exceptions[0] from None

    async def _touch_threads(self, latest: dict[str, int]) -> None:
        await self.bq.dml(
            f"UPDATE {self._threads} T SET updated_at = GREATEST(T.updated_at, TIMESTAMP_MICROS(L.us))"
            " FROM UNNEST(@latest) L WHERE T.id = L.id",
            [struct_array("latest", [{"id": ("STRING", k), "us": ("INT64", v)} for k, v in latest.items()])],
        )

    async def post_message(self, new: NewMessage) -> Message:
        message = self._fill(new)
        row = self.message_row(message)
        source = ", ".join(f"@{name} AS {name}" for name in row)
        inserted = await self.bq.dml(
            self.merge_messages_sql(f"SELECT {source} FROM {self._threads} WHERE id = @thread_id"),
            [scalar(name, kind, value) for name, (kind, value) in row.items()],
        )
        if inserted:
            await self.after_insert([message])
            return message
        await self.get_thread(new.thread_id)  # NotFound, else the key was seen before
        rows = await self.bq.rows(
            f"SELECT {MESSAGE_COLUMNS} FROM {self._messages} WHERE idempotency_key = @key",
            [scalar("key", "STRING", new.idempotency_key)],
        )
        return same_message(message_from_row(rows[0]), new)

    async def append_messages(self, batch: list[NewMessage]) -> int:
        if not batch:
            return 0
        thread_ids = sorted({m.thread_id for m in batch})
        found = await self.bq.rows(
            f"SELECT id FROM {self._threads} WHERE id IN UNNEST(@ids)", [array("ids", "STRING", thread_ids)]
        )
        missing = sorted(set(thread_ids) - {r["id"] for r in found})
        if missing:
            raise NotFound(f"no thread with id {missing[0]!r}; list_threads shows the ids that exist")
        keys = sorted({m.idempotency_key for m in batch if m.idempotency_key is not None})
        seen: dict[str, Message] = {}
        if keys:
            for row in await self.bq.rows(
                f"SELECT {MESSAGE_COLUMNS} FROM {self._messages} WHERE idempotency_key IN UNNEST(@keys)",
                [array("keys", "STRING", keys)],
            ):
                seen[row["idempotency_key"]] = message_from_row(row)
        fresh: list[Message] = []
        for new in batch:
            if new.idempotency_key is not None and new.idempotency_key in seen:
                same_message(seen[new.idempotency_key], new)
                continue
            message = self._fill(new)
            if new.idempotency_key is not None:
                seen[new.idempotency_key] = message
            fresh.append(message)
        if not fresh:
            return 0
        inserted = await self.insert_messages(fresh)
        await self.after_insert(fresh)
        return inserted

    async def insert_messages(self, messages: list[Message]) -> int:
        """One MERGE inserting the messages whose idempotency key is new; returns how many it inserted."""
        rows = [self.message_row(m) for m in messages]
        columns = ", ".join(f"r.{name}" for name in rows[0])
        return await self.bq.dml(
            self.merge_messages_sql(f"SELECT {columns} FROM UNNEST(@rows) r"), [struct_array("rows", rows)]
        )

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
        clauses = ["thread_id = @thread_id"]
        params: list[Any] = [scalar("thread_id", "STRING", thread_id), scalar("limit", "INT64", limit + 1)]
        if since is not None:
            clauses.append("created_at >= TIMESTAMP_MICROS(@since)")
            params.append(scalar("since", "INT64", to_micros(since)))
        if until is not None:
            clauses.append("created_at < TIMESTAMP_MICROS(@until)")
            params.append(scalar("until", "INT64", to_micros(until)))
        newest = order is Order.NEWEST
        keyset = messages_keyset(order.value)
        if (after := keyset.after(cursor)) is not None:
            clauses.append(after_clause(keyset, "<" if newest else ">"))
            params += after_params(keyset, after)
        direction = "DESC" if newest else "ASC"
        rows = await self.bq.rows(
            f"SELECT {MESSAGE_COLUMNS} FROM {self._messages} WHERE {' AND '.join(clauses)}"
            f" ORDER BY created_at {direction}, seq {direction} LIMIT @limit",
            params,
        )
        if not rows:
            await self.get_thread(thread_id)  # an empty page of an unknown thread is NotFound
        rows, next_cursor = keyset.cut(rows, limit, bq_column)
        return MessagePage(messages=[message_from_row(r) for r in rows], next_cursor=next_cursor)

    def vectors(self, model: str, dim: int) -> VectorStore[Any]:
        from mainloop_mcp.store.bigquery.vectors import BigQueryVectors

        return BigQueryVectors(self.bq, self._clock, model)

    async def close(self) -> None:
        await self.bq.close()
