"""The BigQuery side of the memory: summaries, stale marking, range counts, search (SummaryStore, SearchIndex).

A mixin of BigQueryStore, kept apart so the thread/message store stays small. SQLite marks
covering summaries stale by trigger; BigQuery has no triggers, so the message write path runs
`mark_stale_sql` after each insert, and `put_summaries` re-checks its periods after its MERGE.
Together they close the race where a message lands while a summary is being stored:
- message committed before the summary MERGE starts: the MERGE counts it, the summary is stale;
- message committed after the MERGE: its stale UPDATE starts after that and finds the summary;
- message committed while the MERGE runs (neither sees the other): the read that follows the
  MERGE counts the period again, finds more messages than the summary was built from, and marks
  it stale before returning it.
Messages are never deleted, so "the period now holds another count than the summary was built
from" is exactly SQLite's stale rule.
"""

from __future__ import annotations

from datetime import datetime

from mainloop_mcp.errors import NotFound
from mainloop_mcp.model import Granularity, NewSummary, SearchHit, Summary, TextQuery, new_id
from mainloop_mcp.store.bigquery.client import array, scalar, struct_array
from mainloop_mcp.store.bigquery.query import search_query, search_threads
from mainloop_mcp.store.bigquery.rows import SUMMARY_COLUMNS, summary_from_row
from mainloop_mcp.store.bigquery.threads import BigQueryThreads
from mainloop_mcp.store.rules import check_time_range
from mainloop_mcp.store.timestamps import from_micros, to_micros

SummaryKey = tuple[str, str, int]


def _key(new: NewSummary) -> SummaryKey:
    return (new.thread_id, new.granularity.value, to_micros(new.period_start))


class BigQueryMemory(BigQueryThreads):
    """SummaryStore and SearchIndex methods of BigQueryStore."""

    def mark_stale_sql(self) -> str:
        """One UPDATE marking every summary that covers one of @points = [(thread id, micros)] stale."""
        return (
            f"UPDATE {self.bq.target.table('summaries')} S SET stale = TRUE WHERE NOT S.stale"
            " AND S.thread_id IN UNNEST(@point_threads) AND S.period_start <= TIMESTAMP_MICROS(@point_last)"
            " AND EXISTS (SELECT 1 FROM UNNEST(@points) p WHERE p.id = S.thread_id"
            " AND TIMESTAMP_MICROS(p.us) >= S.period_start AND TIMESTAMP_MICROS(p.us) < S.period_end)"
        )

    async def mark_stale(self, points: set[tuple[str, int]]) -> None:
        await self.bq.dml(
            self.mark_stale_sql(),
            [
                struct_array("points", [{"id": ("STRING", t), "us": ("INT64", us)} for t, us in sorted(points)]),
                array("point_threads", "STRING", sorted({t for t, _ in points})),
                scalar("point_last", "INT64", max(us for _, us in points)),
            ],
        )

    async def put_summaries(self, batch: list[NewSummary]) -> list[Summary]:
        """One MERGE (all or none: it writes nothing unless every thread exists) and one read back."""
        if not batch:
            return []
        latest = {_key(new): new for new in batch}  # the same period twice: the last one wins, as on SQLite
        thread_ids = sorted({new.thread_id for new in batch})
        summaries, messages, threads = (self.bq.target.table(t) for t in ("summaries", "messages", "threads"))
        rows = [
            {
                "id": ("STRING", new_id("sum")),
                "thread_id": ("STRING", new.thread_id),
                "granularity": ("STRING", new.granularity.value),
                "start_us": ("INT64", to_micros(new.period_start)),
                "end_us": ("INT64", to_micros(new.period_end)),
                "content": ("STRING", new.content),
                "n": ("INT64", new.source_message_count),
                "tokens": ("INT64", new.token_count),
                "summariser": ("STRING", new.summariser),
            }
            for new in latest.values()
        ]
        count_in_period = (
            f"(SELECT COUNT(*) FROM {messages} m WHERE m.thread_id = {{t}}.thread_id"
            f" AND m.created_at >= {{start}} AND m.created_at < {{end}})"
        )
        changed = await self.bq.dml(
            f"MERGE {summaries} T USING (SELECT r.*,"
            f" {count_in_period.format(t='r', start='TIMESTAMP_MICROS(r.start_us)', end='TIMESTAMP_MICROS(r.end_us)')}"
            f" AS have FROM UNNEST(@rows) r"
            f" WHERE (SELECT COUNT(*) FROM {threads} WHERE id IN UNNEST(@thread_ids)) = @thread_count) S"
            " ON T.thread_id = S.thread_id AND T.granularity = S.granularity"
            " AND T.period_start = TIMESTAMP_MICROS(S.start_us)"
            " WHEN MATCHED THEN UPDATE SET period_end = TIMESTAMP_MICROS(S.end_us), content = S.content,"
            " source_message_count = S.n, token_count = S.tokens, summariser = S.summariser,"
            " created_at = TIMESTAMP_MICROS(@now), stale = S.have != S.n"
            " WHEN NOT MATCHED THEN INSERT (id, thread_id, granularity, period_start, period_end, content,"
            " source_message_count, token_count, summariser, created_at, stale) VALUES (S.id, S.thread_id,"
            " S.granularity, TIMESTAMP_MICROS(S.start_us), TIMESTAMP_MICROS(S.end_us), S.content, S.n, S.tokens,"
            " S.summariser, TIMESTAMP_MICROS(@now), S.have != S.n)",
            [
                struct_array("rows", rows),
                array("thread_ids", "STRING", thread_ids),
                scalar("thread_count", "INT64", len(thread_ids)),
                scalar("now", "INT64", self._now()),
            ],
        )
        if not changed:
            for thread_id in thread_ids:
                await self.get_thread(thread_id)  # raises NotFound for the missing one
        keys = [{"t": ("STRING", t), "g": ("STRING", g), "s": ("INT64", s)} for t, g, s in latest]
        found = await self.bq.rows(
            f"SELECT {SUMMARY_COLUMNS}, {count_in_period.format(t='x', start='x.period_start', end='x.period_end')}"
            f" AS have FROM {summaries} x JOIN UNNEST(@keys) k ON x.thread_id = k.t AND x.granularity = k.g"
            " AND x.period_start = TIMESTAMP_MICROS(k.s)",
            [struct_array("keys", keys)],
        )
        raced = [r["id"] for r in found if not r["stale"] and r["have"] != r["source_message_count"]]
        if raced:
            await self.bq.dml(
                f"UPDATE {summaries} SET stale = TRUE WHERE id IN UNNEST(@ids)", [array("ids", "STRING", raced)]
            )
        stored = {
            (r["thread_id"], r["granularity"], r["start_us"]): summary_from_row(
                {**r, "stale": r["stale"] or r["id"] in raced}
            )
            for r in found
        }
        return [stored[_key(new)] for new in batch]

    async def get_summaries(
        self, thread_id: str, granularity: Granularity, since: datetime, until: datetime
    ) -> list[Summary]:
        check_time_range(since, until)
        # Joined to the thread's row, so an unknown thread (no row at all) is told apart from one
        # without summaries (one row of NULLs) in the same query.
        rows = await self.bq.rows(
            f"SELECT s.* FROM (SELECT id FROM {self.bq.target.table('threads')} WHERE id = @t) t LEFT JOIN"
            f" (SELECT {SUMMARY_COLUMNS} FROM {self.bq.target.table('summaries')} WHERE thread_id = @t"
            " AND granularity = @g AND period_start >= TIMESTAMP_MICROS(@since)"
            " AND period_start < TIMESTAMP_MICROS(@until)) s ON TRUE ORDER BY s.start_us",
            [
                scalar("t", "STRING", thread_id),
                scalar("g", "STRING", granularity.value),
                scalar("since", "INT64", to_micros(since)),
                scalar("until", "INT64", to_micros(until)),
            ],
        )
        if not rows:
            raise NotFound(f"no thread with id {thread_id!r}; list_threads shows the ids that exist")
        return [summary_from_row(r) for r in rows if r["id"] is not None]

    async def count_messages(self, thread_id: str, ranges: list[tuple[datetime, datetime]]) -> list[int]:
        """All ranges in one query; the thread's existence is checked in the same query."""
        if not ranges:
            await self.get_thread(thread_id)
            return []
        micros = [(to_micros(lo), to_micros(hi)) for lo, hi in ranges]
        rows = await self.bq.rows(
            "SELECT r.i AS i, COUNT(m.created_at) AS n FROM UNNEST(@ranges) r LEFT JOIN"
            f" (SELECT created_at FROM {self.bq.target.table('messages')} WHERE thread_id = @t"
            " AND created_at >= TIMESTAMP_MICROS(@lo) AND created_at < TIMESTAMP_MICROS(@hi)) m"
            " ON m.created_at >= TIMESTAMP_MICROS(r.lo) AND m.created_at < TIMESTAMP_MICROS(r.hi) GROUP BY r.i"
            f" UNION ALL SELECT -1 AS i, COUNT(*) AS n FROM {self.bq.target.table('threads')} WHERE id = @t",
            [
                struct_array(
                    "ranges",
                    [
                        {"i": ("INT64", i), "lo": ("INT64", lo), "hi": ("INT64", hi)}
                        for i, (lo, hi) in enumerate(micros)
                    ],
                ),
                scalar("t", "STRING", thread_id),
                scalar("lo", "INT64", min(lo for lo, _ in micros)),
                scalar("hi", "INT64", max(hi for _, hi in micros)),
            ],
        )
        counts = {int(r["i"]): int(r["n"]) for r in rows}
        if not counts.get(-1):
            raise NotFound(f"no thread with id {thread_id!r}; list_threads shows the ids that exist")
        return [counts.get(i, 0) for i in range(len(micros))]

    async def message_span(self, thread_id: str) -> tuple[datetime, datetime] | None:
        rows = await self.bq.rows(
            "SELECT UNIX_MICROS(MIN(created_at)) AS first_us, UNIX_MICROS(MAX(created_at)) AS last_us,"
            f" (SELECT COUNT(*) FROM {self.bq.target.table('threads')} WHERE id = @t) AS known"
            f" FROM {self.bq.target.table('messages')} WHERE thread_id = @t",
            [scalar("t", "STRING", thread_id)],
        )
        row = rows[0]
        if not row["known"]:
            raise NotFound(f"no thread with id {thread_id!r}; list_threads shows the ids that exist")
        if row["first_us"] is None:
            return None
        return from_micros(row["first_us"]), from_micros(row["last_us"])

    async def search_text(
        self,
        query: TextQuery,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        return await search_query(self.bq, query, thread_ids=thread_ids, since=since, until=until, limit=limit)

    async def search_threads(self, query: TextQuery, limit: int = 5) -> list[SearchHit]:
        return await search_threads(self.bq, query, limit)
