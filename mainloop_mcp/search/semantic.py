"""Search by meaning: an embedder, the vectors beside the text, and the background job that fills them.

Embedding never runs on the write path: `post_message` stores text only; `Indexer.run` (a hub task)
picks up messages without a vector in batches and embeds them in a worker thread, and `backfill`
does the same for existing history with progress (`mainloop embed`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import anyio

from mainloop_mcp.errors import MainloopError
from mainloop_mcp.model import Granularity, SearchHit
from mainloop_mcp.store import Store
from mainloop_mcp.store.sqlite import SqliteStore
from mainloop_mcp.store.timestamps import from_micros

if TYPE_CHECKING:  # numpy and the model come with the semantic extra; imported only when it is on
    from mainloop_mcp.search.embedders import Embedder
    from mainloop_mcp.store.sqlite_vectors import SqliteVectors

BATCH = 256
IDLE_SECONDS = 2.0
SNIPPET_CHARS = 200


@dataclass
class SemanticIndex:
    embedder: Embedder
    vectors: SqliteVectors

    async def embed_pending(self) -> int:
        """Embed one batch of messages that have no vector yet; how many were embedded."""
        batch = await self.vectors.pending(BATCH)
        if batch:
            vectors = await anyio.to_thread.run_sync(self.embedder.embed, [text for _, text in batch])
            await self.vectors.put([seq for seq, _ in batch], vectors)
        return len(batch)

    async def run(self) -> None:
        """Keep embedding new messages until cancelled (a hub background task)."""
        while True:
            if await self.embed_pending() == 0:
                await anyio.sleep(IDLE_SECONDS)

    async def backfill(self, progress: Callable[[int, int], None]) -> int:
        """Embed everything not embedded yet, calling progress(done, total) after each batch."""
        done, total = await self.vectors.count()
        progress(done, total)
        embedded = 0
        while n := await self.embed_pending():
            embedded += n
            progress(done + embedded, total)
        return embedded

    async def nearest(
        self,
        query: str,
        *,
        thread_ids: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        """Messages closest in meaning to `query`, best first; score is the cosine similarity."""
        (vector,) = await anyio.to_thread.run_sync(self.embedder.embed, [query])
        found = await self.vectors.nearest(vector, thread_ids=thread_ids, since=since, until=until, limit=limit)
        if not found:
            return []
        score = dict(found)
        marks = ",".join("?" * len(found))

        def rows(c: sqlite3.Connection) -> list[sqlite3.Row]:
            sql = f"SELECT seq, id, thread_id, created_at, content FROM messages WHERE seq IN ({marks})"
            return c.execute(sql, [seq for seq, _ in found]).fetchall()

        by_seq = {r[0]: r for r in await self.vectors.store.run(rows)}
        hits = []
        for seq, _ in found:
            if (r := by_seq.get(seq)) is None:
                continue
            at = from_micros(r[3])
            text = r[4] if len(r[4]) <= SNIPPET_CHARS else r[4][:SNIPPET_CHARS] + "…"
            hits.append(
                SearchHit(
                    kind="message",
                    id=r[1],
                    thread_id=r[2],
                    granularity=Granularity.MESSAGE,
                    period_start=at,
                    period_end=at,
                    snippet=text,
                    score=round(score[seq], 4),
                )
            )
        return hits


async def open_semantic(name: str, cache_dir: Path, store: Store) -> SemanticIndex | None:
    """The configured semantic index over `store`, or None when semantic search is off."""
    if name == "none":
        return None
    if not isinstance(store, SqliteStore):
        raise MainloopError(f"embedder {name!r} needs the sqlite store for now; set embedder = 'none' for this store")
    try:
        from mainloop_mcp.search.embedders import EmbedderName, make_embedder
        from mainloop_mcp.store.sqlite_vectors import SqliteVectors
    except ImportError as e:
        raise MainloopError(
            f"embedder {name!r} needs the semantic extra: MAINLOOP_EXTRAS=semantic scripts/setup ({e})"
        ) from e
    embedder = await anyio.to_thread.run_sync(make_embedder, cast(EmbedderName, name), cache_dir)
    vectors = await anyio.to_thread.run_sync(SqliteVectors, store, embedder.name, embedder.dim)
    return SemanticIndex(embedder, vectors)
