"""BigQuery's change log: a bounded-cost poll of the small tables, no table of its own.

Every `every` seconds one query (one job) reads the threads and agent runs whose change time moved
past the last one seen (a thread's `updated_at` moves with every message posted into it), and the
threads that got new summaries (`memory://{thread}`; summaries dropped by an edit are not seen). The
tables are unpartitioned, so BigQuery bills its 10 MB minimum per table: about 30 MB a poll.
Sequence numbers are this process's own (BigQuery has no commit order to share), so a client can
resume within the life of one hub process; after a restart it is told to resync.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mainloop_mcp.store.bigquery.client import BigQueryClient, scalar
from mainloop_mcp.store.changes import ACTIVE_THREADS_URI, RECENT_AGENTS_URI, Change, ChangeListener

# Rows whose change time is this close to the newest one seen are read again on the next poll, so a
# write that committed late with an earlier timestamp is still caught (each is reported once).
OVERLAP_MICROS = 60_000_000


class BigQueryChangeLog:
    def __init__(self, bq: BigQueryClient, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._bq = bq
        self._every = every
        self._clock = clock
        self._next_poll = 0.0
        self._seq = 0
        self._watermark: int | None = None
        self._seen: dict[str, int] = {}  # "thread:ID" / "agent:ID" -> change time reported

    def _sql(self) -> str:
        threads, runs = self._bq.target.table("threads"), self._bq.target.table("agent_runs")
        summaries = self._bq.target.table("summaries")
        return (
            "SELECT 'thread' AS kind, id, id AS thread_id, UNIX_MICROS(updated_at) AS at,"
            " (UNIX_MICROS(created_at) > @created_since OR status = 'archived') AS tree"
            f" FROM {threads} WHERE updated_at > TIMESTAMP_MICROS(@since)"
            " UNION ALL SELECT 'agent' AS kind, id, thread_id, UNIX_MICROS(GREATEST(created_at,"
            " COALESCE(started_at, created_at), COALESCE(finished_at, created_at))) AS at, FALSE AS tree"
            f" FROM {runs} WHERE GREATEST(created_at, COALESCE(started_at, created_at),"
            " COALESCE(finished_at, created_at)) > TIMESTAMP_MICROS(@since)"
            " UNION ALL SELECT 'memory' AS kind, thread_id AS id, thread_id, MAX(UNIX_MICROS(created_at)) AS at,"
            f" FALSE AS tree FROM {summaries} WHERE created_at > TIMESTAMP_MICROS(@since) GROUP BY thread_id"
        )

    async def _poll(self) -> list[Change]:
        since = 0 if self._watermark is None else self._watermark - OVERLAP_MICROS
        params = [scalar("since", "INT64", since), scalar("created_since", "INT64", self._watermark or 0)]
        rows = await self._bq.rows(self._sql(), params)
        first = self._watermark is None
        changes: list[Change] = []
        for row in sorted(rows, key=lambda r: (r["at"], r["id"])):
            key, at = f"{row['kind']}:{row['id']}", int(row["at"])
            self._watermark = max(self._watermark or 0, at)
            if self._seen.get(key, -1) >= at:
                continue
            self._seen[key] = at
            if first:
                continue  # what existed before this process started is not news
            if row["kind"] == "thread":
                changes.append(self._next(f"thread://{row['id']}", row["thread_id"]))
                if row["tree"]:
                    changes.append(self._next(ACTIVE_THREADS_URI, row["thread_id"]))
            elif row["kind"] == "memory":  # summaries built (compaction); for every period of the thread
                changes.append(self._next(f"memory://{row['id']}", row["thread_id"]))
            else:
                changes.append(self._next(f"agent://{row['id']}", row["thread_id"]))
                changes.append(self._next(RECENT_AGENTS_URI, row["thread_id"]))
        if self._watermark is not None:
            floor = self._watermark - OVERLAP_MICROS
            self._seen = {k: at for k, at in self._seen.items() if at >= floor}
        return changes

    def _next(self, uri: str, thread_id: str | None) -> Change:
        self._seq += 1
        return Change(self._seq, uri, thread_id)

    async def latest(self, limit: int) -> list[Change]:
        await self._poll()  # learn what exists; nothing before this process is kept
        self._next_poll = self._clock() + self._every
        return []

    async def changes_after(self, seq: int, limit: int) -> list[Change] | None:
        if self._clock() < self._next_poll:
            return None
        self._next_poll = self._clock() + self._every
        return [c for c in await self._poll() if c.seq > seq]

    def on_commit(self, listener: ChangeListener) -> None:
        """This process's writes are seen by the next poll like any other's."""

    async def prune(self, keep: int) -> None:
        """Nothing is stored."""

    async def close(self) -> None:
        """The store owns the client."""
