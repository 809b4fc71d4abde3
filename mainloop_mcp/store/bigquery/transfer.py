"""The BigQuery side of `mainloop migrate`: read in post order, write rows as they are (MERGE on id)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

from mainloop_mcp.errors import Conflict
from mainloop_mcp.model import AgentRun, Message, Order, Summary, Thread
from mainloop_mcp.store.bigquery.client import array, scalar, struct_array
from mainloop_mcp.store.bigquery.messages import MAX_BATCH_BYTES
from mainloop_mcp.store.bigquery.rows import (
    MESSAGE_COLUMNS,
    RUN_COLUMNS,
    SUMMARY_COLUMNS,
    THREAD_COLUMNS,
    after_clause,
    after_params,
    merge_sql,
    message_from_row,
    params_row,
    run_from_row,
    summary_from_row,
    thread_from_row,
)
from mainloop_mcp.store.bigquery.store import BigQueryStore
from mainloop_mcp.store.paging import messages_keyset, pages_after
from mainloop_mcp.store.records import AGENT_RUNS, SUMMARIES, THREADS, Record

PAGE = 2000
M = TypeVar("M", Thread, Summary, AgentRun)


class BigQuerySide:
    def __init__(self, store: BigQueryStore) -> None:
        self.store = store
        self.bq = store.bq
        self.threads_table = store.bq.target.table("threads")
        self.messages_table = store.bq.target.table("messages")

    async def threads(self) -> list[Thread]:
        return [thread_from_row(r) for r in await self.bq.rows(f"SELECT {THREAD_COLUMNS} FROM {self.threads_table}")]

    async def messages(self) -> AsyncIterator[list[Message]]:
        keyset = messages_keyset(Order.OLDEST.value)

        async def page(after: list[Any] | None) -> list[dict[str, Any]]:
            where = "" if after is None else f" WHERE {after_clause(keyset, '>')}"
            params = [scalar("n", "INT64", PAGE), *([] if after is None else after_params(keyset, after))]
            return await self.bq.rows(
                f"SELECT {MESSAGE_COLUMNS} FROM {self.messages_table}{where} ORDER BY created_at, seq LIMIT @n", params
            )

        async for rows in pages_after(page, lambda r: [r["created_us"], r["seq"]]):
            yield [message_from_row(r) for r in rows]

    async def message_ids(self, ids: list[str]) -> set[str]:
        rows = await self.bq.rows(
            f"SELECT id FROM {self.messages_table} WHERE id IN UNNEST(@ids)", [array("ids", "STRING", ids)]
        )
        return {r["id"] for r in rows}

    async def put_threads(self, threads: list[Thread]) -> None:
        await self._put(THREADS, threads, [len(t.thread_context.encode()) for t in threads])

    async def put_messages(self, messages: list[Message]) -> None:
        await self.store.insert_messages(messages, key="id")

    async def summaries(self) -> list[Summary]:
        table = self.bq.target.table("summaries")
        return [summary_from_row(r) for r in await self.bq.rows(f"SELECT {SUMMARY_COLUMNS} FROM {table}")]

    async def runs(self) -> list[AgentRun]:
        table = self.bq.target.table("agent_runs")
        return [run_from_row(r) for r in await self.bq.rows(f"SELECT {RUN_COLUMNS} FROM {table}")]

    async def put_summaries(self, summaries: list[Summary]) -> None:
        await self._put(SUMMARIES, summaries, [len(s.content.encode()) for s in summaries])

    async def put_runs(self, runs: list[AgentRun]) -> None:
        sizes = [len(r.prompt.encode()) + len((r.result or "").encode()) + len((r.error or "").encode()) for r in runs]
        await self._put(AGENT_RUNS, runs, sizes)

    async def _put(self, record: Record[M], items: list[M], sizes: list[int]) -> None:
        """Insert the items the table lacks (MERGE on id), in requests of bounded size."""
        if items:
            sql = merge_sql(record, self.bq.target.table(record.table), "SELECT r.* FROM UNNEST(@rows) r")
            await self._batched(sql, [params_row(record, item) for item in items], sizes)

    async def _batched(self, sql: str, rows: list[dict[str, tuple[str, Any]]], sizes: list[int]) -> None:
        """Run `sql` over @rows in requests of at most MAX_BATCH_BYTES (a single bigger row goes alone)."""
        batch: list[dict[str, tuple[str, Any]]] = []
        total = 0
        for row, size in zip(rows, sizes, strict=True):
            if batch and total + size + 200 > MAX_BATCH_BYTES:
                await self.bq.dml(sql, [struct_array("rows", batch)])
                batch, total = [], 0
            batch.append(row)
            total += size + 200
        if batch:
            await self.bq.dml(sql, [struct_array("rows", batch)])

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
