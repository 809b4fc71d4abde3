"""The BigQuery side of imports: a batch of threads in a handful of statements, resumable after a crash.

BigQuery runs no multi-statement transaction with query parameters here (the emulator refuses them),
so a batch is written in an order a rerun completes instead: (1) one MERGE records each new source
with the thread id it will get (a second importer racing on the same source loses the MERGE and
uses the winner's id), (2) one MERGE creates every thread of the batch that is missing, (3) MERGEs
of at most 4 MiB add the messages whose source keys are new, (4) the threads' updated_at and the
covering summaries' stale marks follow, as for any append. A crash between steps leaves sources
without threads or threads without all their messages; the rerun finds the same thread ids and adds
only what is missing. Jobs: 5 per batch plus one per 4 MiB of messages (the importer's batches hold
20,000 messages: about 0.4 jobs per 1,000 short messages).
"""

from __future__ import annotations

import json
from typing import Any

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import Message, NewThread, Role, Thread, ThreadType, new_id, new_ids
from mainloop_mcp.store import records
from mainloop_mcp.store.bigquery.client import array, scalar, struct_array
from mainloop_mcp.store.bigquery.messages import BigQueryMessages
from mainloop_mcp.store.bigquery.rows import merge_sql, params_row
from mainloop_mcp.store.imports import ImportCounts, ImportedThread
from mainloop_mcp.store.rules import born
from mainloop_mcp.store.timestamps import from_micros


class BigQueryImport(BigQueryMessages):
    """ImportSink methods of BigQueryStore."""

    @property
    def _sources(self) -> str:
        return self.bq.target.table("import_sources")

    async def import_source(self, source_key: str) -> tuple[str, int] | None:
        rows = await self.bq.rows(
            f"SELECT thread_id, position FROM {self._sources} WHERE source_key = @k",
            [scalar("k", "STRING", source_key)],
        )
        return None if not rows else (str(rows[0]["thread_id"]), int(rows[0]["position"]))

    async def import_threads(self, batch: list[ImportedThread]) -> ImportCounts:
        counts = ImportCounts()
        if not batch:
            return counts
        keys = sorted({s.source_key for s in batch} | {s.parent_key for s in batch if s.parent_key})
        known = await self._landed(keys)
        fresh = [s for s in batch if s.source_key not in known]
        fresh_keys = {s.source_key for s in fresh}
        if fresh:  # (1) claim thread ids for the new sources; read back whose claim won
            claims = {s.source_key: new_id("thr") for s in fresh}
            await self.bq.dml(
                f"MERGE {self._sources} T USING (SELECT r.* FROM UNNEST(@rows) r) S ON T.source_key = S.k"
                " WHEN NOT MATCHED THEN INSERT (source_key, thread_id, position) VALUES (S.k, S.t, S.p)",
                [struct_array("rows", [self._claim(s, claims[s.source_key]) for s in fresh])],
            )
            known |= await self._landed(sorted(claims))
            counts.threads_created = sum(known[k] == t for k, t in claims.items())
        main = await self.main_thread()
        threads = [self._thread(s, known, main) for s in batch]
        counts.thread_ids = {s.source_key: known[s.source_key] for s in batch}
        # (2) every thread of the batch that is missing (new, or claimed before a crash)
        rows = [params_row(records.THREADS, t) for t in threads]
        await self.bq.dml(
            merge_sql(records.THREADS, self._threads, "SELECT r.* FROM UNNEST(@rows) r"), [struct_array("rows", rows)]
        )
        await self._move_positions([s for s in batch if s.position is not None and s.source_key not in fresh_keys])
        # (3) and (4): the messages whose keys are new, then what follows any append
        messages = [m for s in batch for m in self._messages_of(s, known[s.source_key])]
        if messages:
            added = await self.insert_messages(messages)
            counts.messages_added += added
            counts.duplicates += len(messages) - added
            await self.after_insert(messages)
        return counts

    async def _landed(self, keys: list[str]) -> dict[str, str]:
        rows = await self.bq.rows(
            f"SELECT source_key, thread_id FROM {self._sources} WHERE source_key IN UNNEST(@keys)",
            [array("keys", "STRING", keys)],
        )
        return {r["source_key"]: r["thread_id"] for r in rows}

    @staticmethod
    def _claim(source: ImportedThread, thread_id: str) -> dict[str, tuple[str, Any]]:
        return {"k": ("STRING", source.source_key), "t": ("STRING", thread_id), "p": ("INT64", source.position or 0)}

    async def _move_positions(self, sources: list[ImportedThread]) -> None:
        if sources:
            await self.bq.dml(
                f"UPDATE {self._sources} T SET position = S.p FROM UNNEST(@rows) S WHERE T.source_key = S.k",
                [struct_array("rows", [self._claim(s, "") for s in sources])],
            )

    def _thread(self, source: ImportedThread, known: dict[str, str], main: Thread) -> Thread:
        """The thread a source lands in, checked like any new thread (title, context, parent)."""
        parent_id = main.id
        if source.thread_type is ThreadType.TASK:
            parent = known.get(source.parent_key or "")
            if parent is None:
                raise InvalidInput(f"imported task {source.title!r} names parent {source.parent_key!r}, never imported")
            parent_id = parent
        new = NewThread(
            thread_type=source.thread_type, title=source.title, parent_id=parent_id, thread_context=source.context
        )
        first = from_micros(min((m.created_us for m in source.messages), default=self._now()))
        return born(new, parent_id, first, known[source.source_key])

    @staticmethod
    def _messages_of(source: ImportedThread, thread_id: str) -> list[Message]:
        ids = new_ids("msg", len(source.messages))
        return [
            Message(
                id=ids[i],
                thread_id=thread_id,
                role=Role(m.role),
                content=m.content,
                created_at=from_micros(m.created_us),
                idempotency_key=m.key,
                metadata=json.loads(m.metadata),
            )
            for i, m in enumerate(source.messages)
        ]
