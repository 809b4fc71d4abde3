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

from typing import Any

from mainloop_mcp.model import (
    Clock,
    utc_now,
)
from mainloop_mcp.store.bigquery.activity import BigQueryActivity
from mainloop_mcp.store.bigquery.bulk_import import BigQueryImport
from mainloop_mcp.store.bigquery.changes import BigQueryChangeLog
from mainloop_mcp.store.bigquery.client import BigQueryClient
from mainloop_mcp.store.bigquery.edits import BigQueryEdits
from mainloop_mcp.store.bigquery.runs import BigQueryAgentRuns
from mainloop_mcp.store.bigquery.schema import BigQueryTarget
from mainloop_mcp.store.bigquery.search import SEARCHED_TABLES, search_index_ddl
from mainloop_mcp.store.changes import ChangeLog
from mainloop_mcp.store.vectors import VectorStore


class BigQueryStore(BigQueryAgentRuns, BigQueryEdits, BigQueryImport, BigQueryActivity):
    """Store, SummaryStore, SearchIndex and AgentRunStore on one BigQuery dataset: its parts (threads,
    memory, messages, runs, edits, import, activity) over one `core.BigQueryCore`.

    Open with `await BigQueryStore.open("bigquery://project/dataset")`."""

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

    async def change_log(self) -> ChangeLog:
        """Changes seen by polling (?changes=SECONDS in the URL); a log that never changes when that is 0."""
        every = self.bq.target.changes_every
        return BigQueryChangeLog(self.bq, every if every > 0 else float("inf"))

    def vectors(self, model: str, dim: int) -> VectorStore[Any]:
        from mainloop_mcp.store.bigquery.vectors import BigQueryVectors

        return BigQueryVectors(self.bq, self._clock, model)

    async def close(self) -> None:
        await self.bq.close()
