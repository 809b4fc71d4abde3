"""Semantic search's cost at scale: embedding rate, memory, query latency, and the write path.

    .venv/bin/python -m bench.semantic_store --messages 100000

Messages are real LongMemEval turns (bench/conversations.py), repeated with a counter to reach the
size. Prints, in one run:
  embedding rate  static (token table warm) and minilm, messages/s, on this machine's 2 cores;
  memory          resident set growth with the static embedder loaded and N vectors held;
  query latency   p50/p99 of search mode text (BM25) beside meaning and auto (fused), at N messages;
  write path      post_message p50/p99 with the background indexer running beside it, and without.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import anyio

from bench.conversations import longmemeval_histories
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import NewMessage, NewThread, ThreadType
from mainloop_mcp.search.hybrid import SearchMode, search
from mainloop_mcp.search.semantic import SemanticIndex, open_semantic
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.sqlite import SqliteStore

QUERIES = 60


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pcts(ms: list[float]) -> str:
    ms = sorted(ms)
    return f"p50 {statistics.median(ms):6.1f} ms  p99 {ms[int(len(ms) * 0.99) - 1]:6.1f} ms"


async def embedding_rates(index: SemanticIndex, texts: list[str]) -> None:
    embedder = index.embedder
    await anyio.to_thread.run_sync(embedder.embed, texts)  # warm: every token distilled and cached
    t0 = time.perf_counter()
    await anyio.to_thread.run_sync(embedder.embed, texts)
    rate = len(texts) / (time.perf_counter() - t0)
    print(f"embedding  static (warm table)  {rate:>9,.0f} msgs/s over {len(texts):,} real turns")
    from mainloop_mcp.search.embedders import MiniLMEmbedder

    minilm = MiniLMEmbedder()
    sample = texts[:200]
    t0 = time.perf_counter()
    minilm.embed(sample)
    print(f"embedding  minilm (transformer) {len(sample) / (time.perf_counter() - t0):>9,.0f} msgs/s over 200 turns")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mainloop-bench/models"))
    args = parser.parse_args()
    histories = longmemeval_histories(50, None)
    turns = [t.content for h in histories for t in h.turns]
    questions = [q.text for h in histories for q in h.questions][:QUERIES]
    print(f"# {len(turns):,} real turns, {args.messages:,} messages, {os.cpu_count()} cores")

    path = Path(tempfile.mkdtemp(prefix="mainloop-sem-")) / "bench.db"
    store = await SqliteStore.open(path)
    try:
        rss0 = rss_mb()
        index = await open_semantic("static", args.cache, store)
        assert index is not None
        await embedding_rates(index, turns)
        thread = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Bench"))
        batch = [
            NewMessage(thread_id=thread.id, content=f"{turns[i % len(turns)]} ({i})") for i in range(args.messages)
        ]
        for start in range(0, len(batch), 10_000):
            await store.append_messages(batch[start : start + 10_000])
        t0 = time.perf_counter()
        await index.backfill(lambda done, total: None)
        print(f"backfill   {args.messages:,} messages stored + embedded in {time.perf_counter() - t0:.1f} s")
        pyr = Pyramid(memory_store(store), zone("UTC"))
        for mode in (SearchMode.TEXT, SearchMode.MEANING, SearchMode.AUTO):
            await search(pyr, questions[0], index, mode, limit=10)  # loads the vectors once
            ms = []
            for q in questions:
                t0 = time.perf_counter()
                await search(pyr, q, index, mode, limit=10)
                ms.append((time.perf_counter() - t0) * 1000)
            print(f"query      {mode.value:<8} at {args.messages:,}: {pcts(ms)}")
        print(f"memory     RSS +{rss_mb() - rss0:.0f} MB (static embedder + {args.messages:,} vectors held)")

        for with_indexer in (False, True):
            async with anyio.create_task_group() as tasks:
                if with_indexer:
                    tasks.start_soon(index.run)
                ms = []
                for i in range(300):
                    t0 = time.perf_counter()
                    await store.post_message(NewMessage(thread_id=thread.id, content=turns[i % len(turns)]))
                    ms.append((time.perf_counter() - t0) * 1000)
                tasks.cancel_scope.cancel()
            print(f"write      post_message {'with' if with_indexer else 'without'} indexer: {pcts(ms)}")
    finally:
        await store.close()


if __name__ == "__main__":
    anyio.run(main)
