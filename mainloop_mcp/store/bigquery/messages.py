"""Messages in the BigQuery store: MERGEs on the idempotency key, then the thread's updated_at and the
covering summaries' stale mark (two statements at once), and paged reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio

from mainloop_mcp.errors import NotFound
from mainloop_mcp.model import (
    Message,
    MessagePage,
    NewMessage,
    Order,
    new_id,
)
from mainloop_mcp.store import records
from mainloop_mcp.store.bigquery.client import array, scalar, struct_array
from mainloop_mcp.store.bigquery.memory import BigQueryMemory
from mainloop_mcp.store.bigquery.rows import (
    MESSAGE_COLUMNS,
    after_clause,
    after_params,
    bq_column,
    merge_sql,
    message_from_row,
    params_row,
)
from mainloop_mcp.store.paging import messages_keyset
from mainloop_mcp.store.rules import check_limit, check_time_range, same_message
from mainloop_mcp.store.timestamps import from_micros, to_micros

MAX_BATCH_BYTES = 4 * 1024 * 1024


class BigQueryMessages(BigQueryMemory):
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

    async def insert_messages(self, messages: list[Message], key: str = "idempotency_key") -> int:
        """MERGEs inserting the messages whose `key` is new, in requests of at most MAX_BATCH_BYTES (BigQuery
        caps a request at 10 MB, parameters included; a bigger message goes alone); how many were inserted."""
        inserted, batch, size = 0, list[dict[str, tuple[str, Any]]](), 0
        for m in messages:
            row = self.message_row(m)
            row_size = len(m.content.encode("utf-8", "surrogatepass")) + len(row["metadata"][1]) + 200
            if batch and size + row_size > MAX_BATCH_BYTES:
                inserted += await self._merge_messages(batch, key)
                batch, size = [], 0
            batch.append(row)
            size += row_size
        if batch:
            inserted += await self._merge_messages(batch, key)
        return inserted

    async def _merge_messages(self, rows: list[dict[str, tuple[str, Any]]], key: str) -> int:
        columns = ", ".join(f"r.{name}" for name in rows[0])
        sql = self.merge_messages_sql(f"SELECT {columns} FROM UNNEST(@rows) r", key=key)
        return await self.bq.dml(sql, [struct_array("rows", rows)])

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
