"""The BigQuery side of `mainloop migrate`: read in post order, write rows as they are (MERGE on id)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from mainloop_mcp.errors import Conflict
from mainloop_mcp.model import AgentRun, Message, Order, Summary, Thread
from mainloop_mcp.store.bigquery import BigQueryStore
from mainloop_mcp.store.bigquery_client import array, scalar, struct_array
from mainloop_mcp.store.bigquery_rows import (
    MESSAGE_COLUMNS,
    RUN_COLUMNS,
    SUMMARY_COLUMNS,
    THREAD_COLUMNS,
    after_clause,
    after_params,
    message_from_row,
    run_from_row,
    summary_from_row,
    thread_from_row,
)
from mainloop_mcp.store.paging import messages_keyset, pages_after
from mainloop_mcp.store.timestamps import maybe_to_micros, to_micros

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

    async def summaries(self) -> list[Summary]:
        table = self.bq.target.table("summaries")
        return [summary_from_row(r) for r in await self.bq.rows(f"SELECT {SUMMARY_COLUMNS} FROM {table}")]

    async def runs(self) -> list[AgentRun]:
        table = self.bq.target.table("agent_runs")
        return [run_from_row(r) for r in await self.bq.rows(f"SELECT {RUN_COLUMNS} FROM {table}")]

    async def put_summaries(self, summaries: list[Summary]) -> None:
        rows: list[dict[str, tuple[str, Any]]] = [
            {
                "id": ("STRING", s.id),
                "thread_id": ("STRING", s.thread_id),
                "granularity": ("STRING", s.granularity.value),
                "start_us": ("INT64", to_micros(s.period_start)),
                "end_us": ("INT64", to_micros(s.period_end)),
                "content": ("STRING", s.content),
                "n": ("INT64", s.source_message_count),
                "tokens": ("INT64", s.token_count),
                "summariser": ("STRING", s.summariser),
                "created_us": ("INT64", to_micros(s.created_at)),
                "stale": ("BOOL", s.stale),
            }
            for s in summaries
        ]
        sql = (
            f"MERGE {self.bq.target.table('summaries')} T USING (SELECT r.* FROM UNNEST(@rows) r) S ON T.id = S.id"
            " WHEN NOT MATCHED THEN INSERT (id, thread_id, granularity, period_start, period_end, content,"
            " source_message_count, token_count, summariser, created_at, stale) VALUES (S.id, S.thread_id,"
            " S.granularity, TIMESTAMP_MICROS(S.start_us), TIMESTAMP_MICROS(S.end_us), S.content, S.n, S.tokens,"
            " S.summariser, TIMESTAMP_MICROS(S.created_us), S.stale)"
        )
        await self._batched(sql, rows, [len(s.content.encode()) for s in summaries])

    async def put_runs(self, runs: list[AgentRun]) -> None:
        rows: list[dict[str, tuple[str, Any]]] = [
            {
                "id": ("STRING", r.id),
                "thread_id": ("STRING", r.thread_id),
                "parent_thread_id": ("STRING", r.parent_thread_id),
                "title": ("STRING", r.title),
                "prompt": ("STRING", r.prompt),
                "work_folder": ("STRING", r.work_folder),
                "runner": ("STRING", r.runner),
                "status": ("STRING", r.status.value),
                "result": ("STRING", r.result),
                "error": ("STRING", r.error),
                "external_id": ("STRING", r.external_id),
                "owner": ("STRING", r.owner),
                "created_us": ("INT64", to_micros(r.created_at)),
                "started_us": ("INT64", maybe_to_micros(r.started_at)),
                "finished_us": ("INT64", maybe_to_micros(r.finished_at)),
            }
            for r in runs
        ]
        sql = (
            f"MERGE {self.bq.target.table('agent_runs')} T USING (SELECT r.* FROM UNNEST(@rows) r) S ON T.id = S.id"
            " WHEN NOT MATCHED THEN INSERT (id, thread_id, parent_thread_id, title, prompt, work_folder, runner,"
            " status, result, error, external_id, owner, created_at, started_at, finished_at) VALUES (S.id,"
            " S.thread_id, S.parent_thread_id, S.title, S.prompt, S.work_folder, S.runner, S.status, S.result,"
            " S.error, S.external_id, S.owner, TIMESTAMP_MICROS(S.created_us), TIMESTAMP_MICROS(S.started_us),"
            " TIMESTAMP_MICROS(S.finished_us))"
        )
        sizes = [len(r.prompt.encode()) + len((r.result or "").encode()) + len((r.error or "").encode()) for r in runs]
        await self._batched(sql, rows, sizes)

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
