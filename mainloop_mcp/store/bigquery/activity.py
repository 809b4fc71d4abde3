"""The BigQuery side of ActivityStore: per thread, its message count and newest message, in one job.

A mixin of BigQueryStore: one query for every thread asked about, where reading thread by thread
cost two jobs per thread (a page listing 50 threads started 100 jobs).
"""

from __future__ import annotations

from mainloop_mcp.model import Message
from mainloop_mcp.store.bigquery.client import array
from mainloop_mcp.store.bigquery.core import BigQueryCore
from mainloop_mcp.store.bigquery.rows import MESSAGE_COLUMNS, message_from_row


class BigQueryActivity(BigQueryCore):
    async def thread_activity(self, thread_ids: list[str]) -> dict[str, tuple[int, Message]]:
        if not thread_ids:
            return {}
        rows = await self.bq.rows(
            f"SELECT * FROM (SELECT {MESSAGE_COLUMNS}, COUNT(*) OVER (PARTITION BY thread_id) AS activity_count,"
            " ROW_NUMBER() OVER (PARTITION BY thread_id ORDER BY created_at DESC, seq DESC) AS activity_rank"
            f" FROM {self.bq.target.table('messages')} WHERE thread_id IN UNNEST(@ids)) WHERE activity_rank = 1",
            [array("ids", "STRING", thread_ids)],
        )
        return {row["thread_id"]: (int(row["activity_count"]), message_from_row(row)) for row in rows}
