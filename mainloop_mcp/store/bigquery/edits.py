"""The BigQuery side of EditStore: rename, move, unarchive threads; redact and supersede messages.

A mixin of BigQueryStore. Search reads the messages table itself, so a content UPDATE is the index
update. As elsewhere in this backend, a change touching two tables is two DML jobs, run in an order
that leaves nothing secret behind if the second one fails (the message first, then its summaries).
"""

from __future__ import annotations

import json
from typing import Any

from mainloop_mcp.errors import NotFound
from mainloop_mcp.model import Message, NewMessage, Thread
from mainloop_mcp.store.bigquery.client import scalar
from mainloop_mcp.store.bigquery.messages import BigQueryMessages
from mainloop_mcp.store.bigquery.rows import MESSAGE_COLUMNS, message_from_row
from mainloop_mcp.store.rules import check_move, check_supersede, check_unarchive, tombstone, valid_title
from mainloop_mcp.store.timestamps import from_micros, to_micros


class BigQueryEdits(BigQueryMessages):
    _messages: str

    async def _set(self, thread_id: str, column: str, kind: str, value: Any) -> Thread:
        await self.get_thread(thread_id)  # NotFound first
        await self.bq.dml(
            f"UPDATE {self._threads} SET {column} = @value, updated_at = TIMESTAMP_MICROS(@now) WHERE id = @id",
            [scalar("value", kind, value), scalar("now", "INT64", self._now()), scalar("id", "STRING", thread_id)],
        )
        return await self.get_thread(thread_id)

    async def rename_thread(self, thread_id: str, title: str) -> Thread:
        return await self._set(thread_id, "title", "STRING", valid_title(title))

    async def move_thread(self, thread_id: str, parent_id: str) -> Thread:
        check_move(await self.get_thread(thread_id), await self.get_thread(parent_id))
        return await self._set(thread_id, "parent_id", "STRING", parent_id)

    async def unarchive_thread(self, thread_id: str) -> Thread:
        thread = await self.get_thread(thread_id)
        check_unarchive(thread, await self.get_thread(thread.parent_id) if thread.parent_id else None)
        return await self._set(thread_id, "status", "STRING", "active")

    async def get_message(self, message_id: str) -> Message:
        rows = await self.bq.rows(
            f"SELECT {MESSAGE_COLUMNS} FROM {self._messages} WHERE id = @id", [scalar("id", "STRING", message_id)]
        )
        if not rows:
            raise NotFound(f"no message with id {message_id!r}; read_messages or search show message ids")
        return message_from_row(rows[0])

    async def _set_message(self, m: Message, metadata: dict[str, Any], content: str | None = None) -> None:
        assignments = "metadata = PARSE_JSON(@metadata)" + (", content = @content" if content is not None else "")
        params = [scalar("metadata", "STRING", json.dumps(metadata)), scalar("id", "STRING", m.id)]
        if content is not None:
            params.append(scalar("content", "STRING", content))
        await self.bq.dml(f"UPDATE {self._messages} SET {assignments} WHERE id = @id", params)

    async def _forget_vectors(self, m: Message) -> None:
        """Its vectors said what the message no longer says (vectors.py). Run on every redact
        call, so a retry after a failure here still removes them."""
        await self.bq.dml(
            f"DELETE FROM {self.bq.target.table('message_vectors')} WHERE message_id = @id",
            [scalar("id", "STRING", m.id)],
        )

    async def _drop_covering_summaries(self, m: Message) -> None:
        await self.bq.dml(
            f"DELETE FROM {self.bq.target.table('summaries')} WHERE thread_id = @thread"
            " AND period_start <= TIMESTAMP_MICROS(@at) AND period_end > TIMESTAMP_MICROS(@at)",
            [scalar("thread", "STRING", m.thread_id), scalar("at", "INT64", to_micros(m.created_at))],
        )

    async def redact_message(self, message_id: str, by: str) -> Message:
        m = await self.get_message(message_id)
        if not m.metadata.get("redacted"):
            content, note = tombstone(by, from_micros(self._now()))
            await self._set_message(m, {**m.metadata, **note}, content)
            await self._drop_covering_summaries(m)
        await self._forget_vectors(m)
        return await self.get_message(message_id)

    async def supersede_message(self, message_id: str, correction: NewMessage) -> Message:
        original = await self.get_message(message_id)
        check_supersede(original, correction)
        new = await self.post_message(correction)
        await self._set_message(original, {**original.metadata, "superseded_by": new.id})
        await self._drop_covering_summaries(original)
        return new
