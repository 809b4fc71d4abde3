"""Search by meaning: an embedder, the vectors beside the text, and the background job that fills them.

Embedding never runs on the write path: `post_message` stores text only; `Indexer.run` (a hub task)
picks up messages without a vector in batches and embeds them in a worker thread, and `backfill`
does the same for existing history with progress (`mainloop embed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio

from mainloop_mcp.errors import MainloopError
from mainloop_mcp.model import Granularity, SearchHit
from mainloop_mcp.store.base import Backend
from mainloop_mcp.store.vectors import VectorStore

if TYPE_CHECKING:  # numpy and the model come with the semantic extra; imported only when it is on
    from mainloop_mcp.search.embedders import Embedder

BATCH = 256
IDLE_SECONDS = 2.0
SNIPPET_CHARS = 200


@dataclass
class SemanticIndex:
    embedder: Embedder
    vectors: VectorStore[Any]  # its keys are the store's own (vectors.Key)

    async def embed_pending(self) -> int:
        """Embed one batch of messages that have no vector yet; how many were embedded."""
        batch = await self.vectors.pending(BATCH)
        if batch:
            vectors = await anyio.to_thread.run_sync(self.embedder.embed, [text for _, text in batch])
            await self.vectors.put([key for key, _ in batch], vectors)
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
        return [
            SearchHit(
                kind="message",
                id=m.id,
                thread_id=m.thread_id,
                granularity=Granularity.MESSAGE,
                period_start=m.created_at,
                period_end=m.created_at,
                snippet=m.content if len(m.content) <= SNIPPET_CHARS else m.content[:SNIPPET_CHARS] + "…",
                score=round(m.score, 4),
            )
            for m in found
        ]


async def open_semantic(name: str, cache_dir: Path, store: Backend) -> SemanticIndex | None:
    """The configured semantic index over `store`, or None when semantic search is off."""
    if name == "none":
        return None
    try:
        from mainloop_mcp.search.embedders import EmbedderName, make_embedder
    except ImportError as e:
        raise MainloopError(
            f"embedder {name!r} needs the semantic extra: MAINLOOP_EXTRAS=semantic scripts/setup ({e})"
        ) from e
    embedder = await anyio.to_thread.run_sync(make_embedder, cast(EmbedderName, name), cache_dir)
    vectors = await anyio.to_thread.run_sync(store.vectors, embedder.name, embedder.dim)
    return SemanticIndex(embedder, vectors)
