"""The SQLite side of the memory: the summaries table, stale marking, range counts, FTS5 search.

A mixin of SqliteStore (same file, same lock, same worker thread), kept in its own module so the
thread/message store stays small.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from mainloop_mcp.model import Granularity, NewSummary, SearchHit, Summary, TextQuery, new_id
from mainloop_mcp.store.records import SUMMARIES
from mainloop_mcp.store.rules import check_limit, check_time_range
from mainloop_mcp.store.sqlite import search as sqlite_search
from mainloop_mcp.store.sqlite.threads import SqliteThreads
from mainloop_mcp.store.timestamps import from_micros, to_micros

T = TypeVar("T")

STALE_TRIGGER = "messages_mark_summaries_stale"


def index_new_messages(c: sqlite3.Connection, after_seq: int) -> None:
    """Add every message stored after `after_seq` to the full-text index, in one statement; synced
    copies of summaries (role 'summary') are left out, since search finds the summary they copy.

    Messages are indexed here rather than by a trigger: one bulk insert is five times faster on big
    batches, and it goes through the FTS table, so the index stays right whatever its tokenizer.
    """
    c.execute(
        "INSERT INTO messages_fts(rowid, content, thread_id)"
        " SELECT seq, content, thread_id FROM messages WHERE seq > ? AND role != 'summary'",
        (after_seq,),
    )


@contextmanager
def stale_marking_per_batch(c: sqlite3.Connection, after_seq: int) -> Iterator[None]:
    """Inside the caller's transaction: insert messages without the per-row stale trigger, then mark
    the summaries covering any message stored after `after_seq` stale in one statement.

    The trigger is dropped and recreated from its own stored SQL in the same transaction, so other
    connections never see it missing and a rollback restores it.
    """
    row = c.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (STALE_TRIGGER,)).fetchone()
    if row is not None:
        c.execute(f"DROP TRIGGER {STALE_TRIGGER}")
    yield
    if row is not None:
        c.execute(row[0])
    c.execute(
        "UPDATE summaries SET stale = 1 WHERE stale = 0"
        " AND thread_id IN (SELECT thread_id FROM messages WHERE seq > ?)"
        " AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = summaries.thread_id"
        " AND m.created_at >= summaries.period_start AND m.created_at < summaries.period_end AND m.seq > ?)",
        (after_seq, after_seq),
    )


class SqliteMemory(SqliteThreads):
    """Summary store and search index methods of SqliteStore."""

    async def put_summaries(self, batch: list[NewSummary]) -> list[Summary]:
        def put() -> list[Summary]:
            with self._tx() as c:
                for thread_id in {new.thread_id for new in batch}:
                    self._get_thread(thread_id)
                return [self._put(c, new) for new in batch]

        return await self._run(put)

    def _put(self, c: sqlite3.Connection, new: NewSummary) -> Summary:
        start, end = to_micros(new.period_start), to_micros(new.period_end)
        (count,) = c.execute(
            "SELECT COUNT(*) FROM messages WHERE thread_id = ? AND created_at >= ? AND created_at < ?",
            (new.thread_id, start, end),
        ).fetchone()
        c.execute(
            "INSERT INTO summaries (id, thread_id, granularity, period_start, period_end, content,"
            " source_message_count, token_count, summariser, created_at, stale)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (thread_id, granularity, period_start) DO UPDATE SET"
            " period_end = excluded.period_end, content = excluded.content,"
            " source_message_count = excluded.source_message_count, token_count = excluded.token_count,"
            " summariser = excluded.summariser, created_at = excluded.created_at, stale = excluded.stale",
            (
                new_id("sum"),
                new.thread_id,
                new.granularity.value,
                start,
                end,
                new.content,
                new.source_message_count,
                new.token_count,
                new.summariser,
                self._now(),
                int(count != new.source_message_count),
            ),
        )
        row = c.execute(
            "SELECT * FROM summaries WHERE thread_id = ? AND granularity = ? AND period_start = ?",
            (new.thread_id, new.granularity.value, start),
        ).fetchone()
        return SUMMARIES.from_row(row)

    async def get_summaries(
        self, thread_id: str, granularity: Granularity, since: datetime, until: datetime
    ) -> list[Summary]:
        check_time_range(since, until)

        def query() -> list[Summary]:
            self._get_thread(thread_id)
            rows = self._conn.execute(
                "SELECT * FROM summaries WHERE thread_id = ? AND granularity = ?"
                " AND period_start >= ? AND period_start < ? ORDER BY period_start",
                (thread_id, granularity.value, to_micros(since), to_micros(until)),
            ).fetchall()
            return [SUMMARIES.from_row(r) for r in rows]

        return await self._run(query)

    async def count_messages(self, thread_id: str, ranges: list[tuple[datetime, datetime]]) -> list[int]:
        micros = [(to_micros(lo), to_micros(hi)) for lo, hi in ranges]
        sql = "SELECT COUNT(*) FROM messages WHERE thread_id = ? AND created_at >= ? AND created_at < ?"

        def count() -> list[int]:
            self._get_thread(thread_id)
            return [int(self._conn.execute(sql, (thread_id, lo, hi)).fetchone()[0]) for lo, hi in micros]

        return await self._run(count)

    async def message_span(self, thread_id: str) -> tuple[datetime, datetime] | None:
        def span() -> tuple[datetime, datetime] | None:
            self._get_thread(thread_id)
            first, last = self._conn.execute(
                "SELECT (SELECT MIN(created_at) FROM messages WHERE thread_id = ?),"
                " (SELECT MAX(created_at) FROM messages WHERE thread_id = ?)",
                (thread_id, thread_id),
            ).fetchone()
            return None if first is None else (from_micros(first), from_micros(last))

        return await self._run(span)

    async def search_text(
        self,
        query: TextQuery,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        check_limit(limit)
        check_time_range(since, until)
        filters = sqlite_search.Filters(thread_ids, since, until)
        stats = self.__dict__.setdefault("_term_stats", sqlite_search.TermStats())
        return await self._run(lambda: sqlite_search.search(self._conn, query, filters, limit, stats, self.topk))

    async def search_threads(self, query: TextQuery, limit: int = 5) -> list[SearchHit]:
        check_limit(limit)
        return await self._run(lambda: sqlite_search.search_threads(self._conn, query, limit))
