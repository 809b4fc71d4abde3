"""Messages in the SQLite store: post (idempotent), append in bulk, read in pages."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, TypeVar

from mainloop_mcp.errors import Conflict
from mainloop_mcp.model import (
    Message,
    MessagePage,
    NewMessage,
    Order,
    new_id,
)
from mainloop_mcp.store import records
from mainloop_mcp.store.paging import messages_keyset
from mainloop_mcp.store.rules import check_limit, check_time_range, same_message
from mainloop_mcp.store.sqlite.memory import index_new_messages
from mainloop_mcp.store.sqlite.threads import SqliteThreads
from mainloop_mcp.store.timestamps import to_micros

T = TypeVar("T")


class SqliteMessages(SqliteThreads):
    def _insert(self, c: sqlite3.Connection, batch: list[NewMessage]) -> list[Message | str]:
        """Insert messages in one statement; for each, its new id, or the earlier message for a seen key.

        FTS rows are added in bulk after the insert (not by trigger): five times faster on big batches.
        """
        outcome: list[Message | str] = []
        rows: list[tuple[Any, ...]] = []
        keys_in_batch: dict[str, NewMessage] = {}
        for new in batch:
            key = new.idempotency_key
            if key is not None:
                row = c.execute("SELECT * FROM messages WHERE idempotency_key = ?", (key,)).fetchone()
                if row is not None:
                    outcome.append(same_message(records.MESSAGES.from_row(row), new))
                    continue
                if key in keys_in_batch:
                    # Same key twice in one batch: keep the first, refuse a different second.
                    first = keys_in_batch[key]
                    if (first.thread_id, first.role, first.content) != (new.thread_id, new.role, new.content):
                        raise Conflict(f"idempotency_key {key!r} appears twice in one batch with other content")
                    outcome.append(outcome[batch.index(first)])
                    continue
                keys_in_batch[key] = new
            created = to_micros(new.created_at) if new.created_at else self._now()
            message_id = new_id("msg")
            rows.append(
                (
                    message_id,
                    new.thread_id,
                    new.role.value,
                    new.content,
                    created,
                    key,
                    json.dumps(new.metadata) if new.metadata else "{}",
                )
            )
            outcome.append(message_id)
        if not rows:
            return outcome
        first_seq = c.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0]
        c.executemany(records.MESSAGES.insert_sql(), rows)  # rows in records.MESSAGES.names order
        index_new_messages(c, first_seq)
        latest: dict[str, int] = {}
        for row_values in rows:
            latest[row_values[1]] = max(latest.get(row_values[1], 0), row_values[4])
        c.executemany(
            "UPDATE threads SET updated_at = max(updated_at, ?) WHERE id = ?", [(t, tid) for tid, t in latest.items()]
        )
        return outcome

    async def post_message(self, new: NewMessage) -> Message:
        def post() -> Message:
            with self._tx() as c:
                self._get_thread(new.thread_id)
                outcome = self._insert(c, [new])[0]
                if isinstance(outcome, Message):
                    return outcome
                return records.MESSAGES.from_row(
                    c.execute("SELECT * FROM messages WHERE id = ?", (outcome,)).fetchone()
                )

        return await self._run(post)

    async def append_messages(self, batch: list[NewMessage]) -> int:
        def append() -> int:
            with self._tx() as c:
                for thread_id in {m.thread_id for m in batch}:
                    self._get_thread(thread_id)
                return len(set(o for o in self._insert(c, batch) if isinstance(o, str)))

        return await self._run(append)

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
        clauses: list[str] = ["thread_id = ?"]
        params: list[Any] = [thread_id]
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(to_micros(since))
        if until is not None:
            clauses.append("created_at < ?")
            params.append(to_micros(until))
        newest = order is Order.NEWEST
        keyset = messages_keyset(order.value)
        if (after := keyset.after(cursor)) is not None:
            clauses.append(f"(created_at, seq) {'<' if newest else '>'} (?, ?)")
            params += after
        direction = "DESC" if newest else "ASC"
        sql = (
            f"SELECT * FROM messages WHERE {' AND '.join(clauses)}"
            f" ORDER BY created_at {direction}, seq {direction} LIMIT ?"
        )

        def query() -> MessagePage:
            self._get_thread(thread_id)
            rows, next_cursor = keyset.cut(self._conn.execute(sql, [*params, limit + 1]).fetchall(), limit)
            return MessagePage(messages=[records.MESSAGES.from_row(r) for r in rows], next_cursor=next_cursor)

        return await self._run(query)
