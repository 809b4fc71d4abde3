"""Semantic search's cost at scale: embedding rate, memory, query latency, and the write path.

    .venv/bin/python -m bench.semantic_store --messages 100000

Messages are real LongMemEval turns (bench/conversations.py), repeated with a counter to reach the
size; each carries its turn's real vector. Prints, in one run:
  embedding rate  static (token table warm) and minilm, messages/s, on this machine's 2 cores;
  memory          resident set growth with the static embedder loaded and N vectors held;
  query latency   p50/p99 of search mode text (BM25) beside meaning and auto (fused), at N messages;
  write path      post_message p50/p99 with the background indexer running beside it, and without.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import numpy as np
import numpy.typing as npt

from bench.conversations import longmemeval_histories
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import NewMessage, NewThread, ThreadType
from mainloop_mcp.search.hybrid import SearchMode, search
from mainloop_mcp.search.semantic import SemanticIndex, open_semantic
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.sqlite.store import SqliteStore

QUERIES = 60
RATE_SAMPLE = 2000
Floats = npt.NDArray[np.float32]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pcts(ms: list[float]) -> str:
    ms = sorted(ms)
    return f"p50 {statistics.median(ms):6.1f} ms  p99 {ms[int(len(ms) * 0.99) - 1]:6.1f} ms"


async def embedding_rates(index: SemanticIndex, texts: list[str]) -> Floats:
    """Rates in wall time and per CPU-second (this machine is shared: the CPU figure is the steadier)."""
    embedder = index.embedder
    vectors = await anyio.to_thread.run_sync(embedder.embed, texts)  # also warms: every token distilled
    for name, sample in (("real turns", texts[:RATE_SAMPLE]), ("first 200 chars", [t[:200] for t in texts])):
        wall, cpu = time.perf_counter(), time.process_time()
        await anyio.to_thread.run_sync(embedder.embed, sample)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        chars = statistics.fmean(len(t) for t in sample)
        print(
            f"embedding  static, {name:<15} (mean {chars:,.0f} chars): {len(sample) / wall:>8,.0f} msgs/s wall, "
            f"{len(sample) / cpu:>8,.0f} msgs per CPU-second"
        )
    from mainloop_mcp.search.embedders import MiniLMEmbedder

    minilm, sample = MiniLMEmbedder(), [t[:200] for t in texts[:64]]
    wall, cpu = time.perf_counter(), time.process_time()
    minilm.embed(sample)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"embedding  minilm, first 200 chars: {len(sample) / wall:>8,.1f} msgs/s wall, "
        f"{len(sample) / cpu:>8,.1f} msgs per CPU-second"
    )
    return vectors


async def overlap_with_exact(index: SemanticIndex, questions: list[str]) -> None:
    """How good the int8 scan's top 10 is beside an exact float32 scan: the share of its hits that
    score (exactly) at least the exact 10th best (messages here repeat turns, so ties are many), and
    the mean exact cosine lost."""
    rows = await index.vectors.store.run(
        lambda c: c.execute(
            "SELECT seq, vector FROM message_vectors WHERE model = ?", (index.vectors.model,)
        ).fetchall()
    )
    row_of = {r[0]: i for i, r in enumerate(rows)}
    matrix = np.frombuffer(b"".join(r[1] for r in rows), np.float16).reshape(len(rows), -1).astype(np.float32)
    good, lost = 0, 0.0
    for q in questions:
        (vector,) = index.embedder.embed([q])
        exact = matrix @ vector.astype(np.float32)
        tenth = np.sort(exact)[-10]
        found = [exact[row_of[s]] for s, _ in await index.vectors.scan(vector, limit=10)]
        good += sum(score >= tenth - 1e-6 for score in found)
        lost += float(np.sort(exact)[-10:].mean() - np.mean(found))
    n = len(questions)
    print(
        f"quality    int8 scan's top 10 as good as the exact top 10: {good / (10 * n):.1%} (cosine lost {lost / n:.4f})"
    )


async def index_rss(path: Path, cache: Path) -> None:
    """In a fresh process: RSS of an open store, then with the static embedder loaded and every vector
    held after one meaning query; what turning semantic search on costs a hub."""
    store = await SqliteStore.open(path)
    try:
        before = rss_mb()
        index = await open_semantic("static", cache, store)
        assert index is not None
        loaded = rss_mb()
        await index.nearest("what did I decide about the car?", limit=10)
        held = rss_mb()
        count, _ = await index.vectors.count()
        print(
            f"memory     RSS +{held - before:.0f} MB for semantic search in a fresh hub process "
            f"(embedder +{loaded - before:.0f} MB, {count:,} vectors +{held - loaded:.0f} MB)"
        )
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mainloop-bench/models"))
    parser.add_argument("--rss-of", type=Path, help="(internal) measure the index's memory over this store")
    args = parser.parse_args()
    if args.rss_of:
        return await index_rss(args.rss_of, args.cache)
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
        turn_vectors = await embedding_rates(index, turns)
        thread = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Bench"))
        batch = [
            NewMessage(thread_id=thread.id, content=f"{turns[i % len(turns)]} ({i})") for i in range(args.messages)
        ]
        for start in range(0, len(batch), 10_000):
            await store.append_messages(batch[start : start + 10_000])
        # message i repeats turn i % N, so it gets that turn's real vector (embedding 100k here would only
        # re-measure the rate above); the scan's cost depends on the count, not on which vectors they are
        pending = await index.vectors.pending(args.messages)
        seqs = [seq for seq, _ in pending]
        await index.vectors.put(seqs, turn_vectors[[i % len(turns) for i in range(len(seqs))]])
        pyr = Pyramid(memory_store(store), zone("UTC"))
        for mode in (SearchMode.TEXT, SearchMode.MEANING, SearchMode.AUTO):
            await search(pyr, questions[0], index, mode, limit=10)  # loads the vectors once
            ms = []
            for q in questions:
                t0 = time.perf_counter()
                await search(pyr, q, index, mode, limit=10)
                ms.append((time.perf_counter() - t0) * 1000)
            print(f"query      {mode.value:<8} at {args.messages:,}: {pcts(ms)}")
        await overlap_with_exact(index, questions)
        print(f"memory     RSS +{rss_mb() - rss0:.0f} MB in this process (bench data included)")
        held = await anyio.run_process(
            [sys.executable, "-m", "bench.semantic_store", "--rss-of", str(path), "--cache", str(args.cache)]
        )
        print(held.stdout.decode().strip())

        for with_indexer in (False, True):
            async with anyio.create_task_group() as tasks:
                if with_indexer:
                    tasks.start_soon(index.run)
                ms = []
                for i in range(300):
                    t0 = time.perf_counter()
                    await store.post_message(NewMessage(thread_id=thread.id, content=turns[i % len(turns)]))
                    ms.append((time.perf_counter() - t0) * 1000)
                    await anyio.sleep(0.005)  # a paced writer, so the indexer's batches interleave
                tasks.cancel_scope.cancel()
            print(f"write      post_message {'with' if with_indexer else 'without'} indexer: {pcts(ms)}")
    finally:
        await store.close()


if __name__ == "__main__":
    anyio.run(main)
