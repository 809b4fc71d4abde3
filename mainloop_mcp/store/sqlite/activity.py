"""The SQLite side of ActivityStore: per thread, its message count and newest message, in one query.

A mixin of SqliteStore. The newest message comes through the (thread_id, created_at) index, one
lookup per thread; the counts from one grouped scan of that index.
"""

from __future__ import annotations

from typing import TypeVar

from mainloop_mcp.model import Message
from mainloop_mcp.store.records import MESSAGES
from mainloop_mcp.store.sqlite.core import SqliteCore

T = TypeVar("T")
CHUNK = 500  # thread ids per statement, well under SQLite's bound-parameter limit


class SqliteActivity(SqliteCore):
    async def thread_activity(self, thread_ids: list[str]) -> dict[str, tuple[int, Message]]:
        def read() -> dict[str, tuple[int, Message]]:
            found: dict[str, tuple[int, Message]] = {}
            for i in range(0, len(thread_ids), CHUNK):
                chunk = thread_ids[i : i + CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    "SELECT c.n AS activity_count, m.* FROM (SELECT thread_id, COUNT(*) AS n FROM messages"
                    f" WHERE thread_id IN ({marks}) GROUP BY thread_id) c"
                    " JOIN messages m ON m.seq = (SELECT seq FROM messages WHERE thread_id = c.thread_id"
                    " ORDER BY created_at DESC, seq DESC LIMIT 1)",
                    chunk,
                ).fetchall()
                for row in rows:
                    found[row["thread_id"]] = (int(row["activity_count"]), MESSAGES.from_row(row))
            return found

        return await self._run(read)
