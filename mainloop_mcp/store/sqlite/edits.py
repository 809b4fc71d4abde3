"""The SQLite side of EditStore: rename, move, unarchive threads; redact and supersede messages.

A mixin of SqliteStore (same file, same lock). Content updates reach the FTS index through the
messages_fts_update trigger, so a redacted message can no longer be found by its old words.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TypeVar

from mainloop_mcp.errors import NotFound
from mainloop_mcp.model import Message, NewMessage, Thread, ThreadStatus
from mainloop_mcp.store.records import MESSAGES
from mainloop_mcp.store.rules import check_move, check_supersede, check_unarchive, tombstone, valid_title
from mainloop_mcp.store.sqlite.messages import SqliteMessages
from mainloop_mcp.store.timestamps import from_micros

T = TypeVar("T")
SEARCH_INDEXES = ("messages_fts", "summaries_fts")


class SqliteEdits(SqliteMessages):
    async def rename_thread(self, thread_id: str, title: str) -> Thread:
        checked = valid_title(title)
        return await self._run(lambda: self._update_now(thread_id, "title = ?", checked))

    async def move_thread(self, thread_id: str, parent_id: str) -> Thread:
        def move() -> Thread:
            check_move(self._get_thread(thread_id), self._get_thread(parent_id))
            return self._update_now(thread_id, "parent_id = ?", parent_id)

        return await self._run(move)

    async def unarchive_thread(self, thread_id: str) -> Thread:
        def unarchive() -> Thread:
            thread = self._get_thread(thread_id)
            check_unarchive(thread, self._get_thread(thread.parent_id) if thread.parent_id else None)
            return self._update_now(thread_id, "status = ?", ThreadStatus.ACTIVE.value)

        return await self._run(unarchive)

    def _drop_covering_summaries(self, c: sqlite3.Connection, message_id: str) -> None:
        """Summaries quoting an edited message go; the pyramid rebuilds them from what stands now."""
        c.execute(
            "DELETE FROM summaries WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = ?"
            " AND summaries.thread_id = m.thread_id AND summaries.period_start <= m.created_at"
            " AND summaries.period_end > m.created_at)",
            (message_id,),
        )

    def _message(self, message_id: str) -> Message:
        row = self._conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise NotFound(f"no message with id {message_id!r}; read_messages or search show message ids")
        return MESSAGES.from_row(row)

    async def get_message(self, message_id: str) -> Message:
        return await self._run(lambda: self._message(message_id))

    async def redact_message(self, message_id: str, by: str) -> Message:
        def redact() -> Message:
            self._conn.execute("PRAGMA secure_delete = ON")  # what the update frees is zeroed, not left behind
            try:
                with self._tx() as c:
                    m = self._message(message_id)
                    if m.metadata.get("redacted"):
                        return m
                    content, note = tombstone(by, from_micros(self._now()))
                    metadata = json.dumps({**m.metadata, **note})
                    c.execute("UPDATE messages SET content = ?, metadata = ? WHERE id = ?", (content, metadata, m.id))
                    self._drop_covering_summaries(c, m.id)
                self._purge_deleted_text()
            finally:
                self._conn.execute("PRAGMA secure_delete = OFF")
            return self._message(m.id)

        return await self._run(redact)

    def _purge_deleted_text(self) -> None:
        """Make deleted text leave the file, not only the answers. FTS5 keeps a deleted row's terms in
        older index segments until they merge, so the indexes are rewritten (about 0.15 s per 100k
        messages); the pages this frees are zeroed (secure_delete), and the WAL, which still holds
        the old pages, is checkpointed and truncated (best effort: a reader in another process can
        hold it; its frames are overwritten by later writes). The top-k index beside the file is
        deleted whole; big stores' searches rebuild it from the file."""
        for index in SEARCH_INDEXES:
            self._conn.execute(f"INSERT INTO {index}({index}) VALUES ('optimize')")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if self.topk:
            self.topk.drop()

    async def supersede_message(self, message_id: str, correction: NewMessage) -> Message:
        def supersede() -> Message:
            with self._tx() as c:
                original = self._message(message_id)
                check_supersede(original, correction)
                outcome = self._insert(c, [correction])[0]
                new = outcome if isinstance(outcome, Message) else self._message(outcome)
                metadata = json.dumps({**original.metadata, "superseded_by": new.id})
                c.execute("UPDATE messages SET metadata = ? WHERE id = ?", (metadata, original.id))
                self._drop_covering_summaries(c, original.id)
                return new

        return await self._run(supersede)
