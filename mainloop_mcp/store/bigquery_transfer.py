"""The BigQuery side of `mainloop migrate`: read in post order, write rows as they are (MERGE on id)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from mainloop_mcp.errors import Conflict
from mainloop_mcp.model import Message, Thread
from mainloop_mcp.store.bigquery import BigQueryStore
from mainloop_mcp.store.bigquery_client import array, scalar, struct_array
from mainloop_mcp.store.bigquery_rows import (
    MESSAGE_COLUMNS,
    THREAD_COLUMNS,
    message_from_row,
    thread_from_row,
    to_micros,
)

PAGE = 2000
MAX_BATCH_BYTES = 4 * 1024 * 1024  # BigQuery caps a request at 10 MB; parameters count towards it


class BigQuerySide:
    def __init__(self, store: BigQueryStore) -> None:
        self.store = store
        self.bq = store.bq
        self.threads_table = store.bq.target.table("threads")
        self.messages_table = store.bq.target.table("messages")

    async def threads(self) -> list[Thread]:
        return [thread_from_row(r) for r in await self.bq.rows(f"SELECT {THREAD_COLUMNS} FROM {self.threads_table}")]

    async def messages(self) -> AsyncIterator[list[Message]]:
        where, params = "", [scalar("n", "INT64", PAGE)]
        while True:
            rows = await self.bq.rows(
                f"SELECT {MESSAGE_COLUMNS} FROM {self.messages_table}{where} ORDER BY created_at, seq LIMIT @n", params
            )
            if not rows:
                return
            where = " WHERE created_at > TIMESTAMP_MICROS(@c) OR (created_at = TIMESTAMP_MICROS(@c) AND seq > @s)"
            params = [*params[:1], scalar("c", "INT64", rows[-1]["created_us"]), scalar("s", "INT64", rows[-1]["seq"])]
            yield [message_from_row(r) for r in rows]

    async def message_ids(self, ids: list[str]) -> set[str]:
        rows = await self.bq.rows(
            f"SELECT id FROM {self.messages_table} WHERE id IN UNNEST(@ids)", [array("ids", "STRING", ids)]
        )
        return {r["id"] for r in rows}

    async def put_threads(self, threads: list[Thread]) -> None:
        if not threads:
            return
        rows: list[dict[str, tuple[str, Any]]] = [
            {
                "id": ("STRING", t.id),
                "parent_id": ("STRING", t.parent_id),
                "thread_type": ("STRING", t.thread_type.value),
                "title": ("STRING", t.title),
                "thread_context": ("STRING", t.thread_context),
                "status": ("STRING", t.status.value),
                "created_us": ("INT64", to_micros(t.created_at)),
                "updated_us": ("INT64", to_micros(t.updated_at)),
            }
            for t in threads
        ]
        await self.bq.dml(
            f"MERGE {self.threads_table} T USING (SELECT r.* FROM UNNEST(@rows) r) S ON T.id = S.id"
            " WHEN NOT MATCHED THEN INSERT (id, parent_id, thread_type, title, thread_context, status, created_at,"
            " updated_at) VALUES (S.id, S.parent_id, S.thread_type, S.title, S.thread_context, S.status,"
            " TIMESTAMP_MICROS(S.created_us), TIMESTAMP_MICROS(S.updated_us))",
            [struct_array("rows", rows)],
        )

    async def put_messages(self, messages: list[Message]) -> None:
        batch: list[dict[str, tuple[str, Any]]] = []
        size = 0
        for m in messages:
            row = self.store.message_row(m)
            row_size = len(m.content.encode()) + len(row["metadata"][1]) + 200
            if batch and size + row_size > MAX_BATCH_BYTES:
                await self._merge(batch)
                batch, size = [], 0
            batch.append(row)
            size += row_size
        if batch:
            await self._merge(batch)

    async def _merge(self, rows: list[dict[str, tuple[str, Any]]]) -> None:
        columns = ", ".join(f"r.{name}" for name in rows[0])
        await self.bq.dml(
            self.store.merge_messages_sql(f"SELECT {columns} FROM UNNEST(@rows) r", key="id"),
            [struct_array("rows", rows)],
        )

    async def drop_empty_main(self, main_id: str) -> None:
        used = await self.bq.rows(
            f"SELECT (SELECT COUNT(*) FROM {self.messages_table} WHERE thread_id = @id)"
            f" + (SELECT COUNT(*) FROM {self.threads_table} WHERE parent_id = @id) AS used",
            [scalar("id", "STRING", main_id)],
        )
        if used[0]["used"]:
            raise Conflict(
                f"the target already has its own main thread {main_id} with messages or children; "
                "migrate into an empty store"
            )
        await self.bq.dml(f"DELETE FROM {self.threads_table} WHERE id = @id", [scalar("id", "STRING", main_id)])
