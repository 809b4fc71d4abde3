"""The SQLite side of imports: whole threads and their messages in one transaction, at bulk speed.

A mixin of SqliteStore (same file, lock and worker thread). Messages go in with one
`INSERT OR IGNORE` (a key seen before is a duplicate, not an error), are indexed for search in one
statement, and mark covering summaries stale in one statement instead of one trigger run per row.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import NewThread, ThreadType, new_ids
from mainloop_mcp.store.imports import ImportCounts, ImportedThread
from mainloop_mcp.store.records import MESSAGES
from mainloop_mcp.store.sqlite.memory import index_new_messages, stale_marking_per_batch
from mainloop_mcp.store.sqlite.messages import SqliteMessages

T = TypeVar("T")

INSERT_MESSAGE = MESSAGES.insert_sql("INSERT OR IGNORE")  # rows in MESSAGES.names order


class SqliteImport(SqliteMessages):
    """ImportSink methods of SqliteStore."""

    async def import_threads(self, batch: list[ImportedThread]) -> ImportCounts:
        def write() -> ImportCounts:
            with self._tx() as c:
                return self._import(c, batch)

        return await self._run(write)

    async def import_source(self, source_key: str) -> tuple[str, int] | None:
        def read() -> tuple[str, int] | None:
            row = self._conn.execute(
                "SELECT thread_id, position FROM import_sources WHERE source_key = ?", (source_key,)
            ).fetchone()
            return None if row is None else (str(row[0]), int(row[1]))

        return await self._run(read)

    def _import(self, c: sqlite3.Connection, batch: list[ImportedThread]) -> ImportCounts:
        counts = ImportCounts()
        rows: list[tuple[Any, ...]] = []
        for source in batch:
            thread_id = self._source_thread(c, source, counts)
            counts.thread_ids[source.source_key] = thread_id
            ids = new_ids("msg", len(source.messages))
            rows += [
                (ids[i], thread_id, m.role, m.content, m.created_us, m.key, m.metadata)
                for i, m in enumerate(source.messages)
            ]
        if rows:
            (after_seq,) = c.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()
            with stale_marking_per_batch(c, after_seq):
                added = c.executemany(INSERT_MESSAGE, rows).rowcount
            index_new_messages(c, after_seq)
            c.execute(
                "UPDATE threads SET updated_at = max(updated_at, latest) FROM"
                " (SELECT thread_id, max(created_at) AS latest FROM messages WHERE seq > ? GROUP BY thread_id) AS fresh"
                " WHERE threads.id = fresh.thread_id",
                (after_seq,),
            )
            counts.messages_added += added
            counts.duplicates += len(rows) - added
        return counts

    def _source_thread(self, c: sqlite3.Connection, source: ImportedThread, counts: ImportCounts) -> str:
        """The thread this source landed in before, or a new one dated by its first message."""
        row = c.execute("SELECT thread_id FROM import_sources WHERE source_key = ?", (source.source_key,)).fetchone()
        if row is not None:
            thread_id: str = row[0]
            if source.position is not None:
                c.execute(
                    "UPDATE import_sources SET position = ? WHERE source_key = ?", (source.position, source.source_key)
                )
            return thread_id
        parent_id = None
        if source.parent_key is not None:
            parent_id = counts.thread_ids.get(source.parent_key) or self._known(c, source.parent_key)
        if source.thread_type is ThreadType.TASK and parent_id is None:
            raise InvalidInput(f"imported task {source.title!r} names parent {source.parent_key!r}, never imported")
        thread = self._create_thread_in(
            c,
            NewThread(
                thread_type=source.thread_type, title=source.title, parent_id=parent_id, thread_context=source.context
            ),
        )
        if source.messages:
            first = min(m.created_us for m in source.messages)
            c.execute("UPDATE threads SET created_at = ?, updated_at = ? WHERE id = ?", (first, first, thread.id))
        c.execute(
            "INSERT INTO import_sources (source_key, thread_id, position) VALUES (?, ?, ?)",
            (source.source_key, thread.id, source.position or 0),
        )
        counts.threads_created += 1
        return thread.id

    def _known(self, c: sqlite3.Connection, source_key: str) -> str | None:
        row = c.execute("SELECT thread_id FROM import_sources WHERE source_key = ?", (source_key,)).fetchone()
        return None if row is None else str(row[0])
