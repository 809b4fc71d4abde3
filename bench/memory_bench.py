"""Memory benchmark: synthetic history -> ingest rate, compaction time, context assembly and search latency.

    .venv/bin/python bench/memory_bench.py                 # 10k and 100k messages
    .venv/bin/python bench/memory_bench.py --sizes 1000000 # the 1M case (several minutes)
    .venv/bin/python bench/memory_bench.py --sizes 1000000 --threads 1  # one thread holding it all

Each size gets a fresh SQLite file under /tmp/mainloop-bench/ holding N messages spread uniformly
over 3 years across 200 project threads (or --threads), ingested through the store's batch append path
(`append_messages`, the same path imports use). Prints one line of figures per measurement.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from mainloop_mcp.memory.assembly import assemble_context
from mainloop_mcp.memory.compact import compact
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import NewMessage, NewThread, Role, ThreadType
from mainloop_mcp.search.fulltext import search
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.sqlite.store import SqliteStore

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
YEARS = 3
THREADS = 200
BATCH = 10_000
VOCABULARY = 5_000
ROLES = [Role.USER, Role.ASSISTANT, Role.AGENT]


def words(rng: random.Random) -> list[str]:
    """A Zipf-like vocabulary: a few frequent words, a long tail of rare ones."""
    syllables = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "de", "po", "ga", "ri", "bo", "che", "fa"]
    vocab: set[str] = set()
    while len(vocab) < VOCABULARY:
        vocab.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(vocab)


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.2f} ms  p99 {p99:.2f} ms  (n={len(ms)})"


async def build(path: Path, size: int, threads: int, rng: random.Random) -> tuple[SqliteStore, list[str], list[str]]:
    for stale_file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        await anyio.Path(stale_file).unlink(missing_ok=True)
    store = await SqliteStore.open(path, clock=lambda: NOW)
    thread_ids = [
        (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title=f"Project {i}"))).id
        for i in range(threads)
    ]
    vocab = words(rng)
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocab))))
    span = timedelta(days=365 * YEARS).total_seconds()
    start = NOW - timedelta(days=365 * YEARS)
    offsets = sorted(rng.random() * span for _ in range(size))
    appended = 0
    append_seconds = 0.0
    wall = time.perf_counter()
    for lo in range(0, size, BATCH):
        batch = [
            NewMessage(
                thread_id=rng.choice(thread_ids),
                role=rng.choice(ROLES),
                content=" ".join(rng.choices(vocab, cum_weights=cumulative, k=rng.randint(8, 30))).capitalize() + ".",
                created_at=start + timedelta(seconds=off),
            )
            for off in offsets[lo : lo + BATCH]
        ]
        t = time.perf_counter()
        appended += await store.append_messages(batch)
        append_seconds += time.perf_counter() - t
    wall = time.perf_counter() - wall
    print(
        f"[{size:>9,}] ingest: {appended:,} messages in batches of {BATCH:,}: "
        f"{appended / append_seconds:,.0f} msgs/s in append_messages "
        f"({appended / wall:,.0f} msgs/s including building the pydantic NewMessage objects)"
    )
    return store, thread_ids, vocab


async def measure(size: int, threads: int, rng: random.Random, rounds: int) -> None:
    path = Path("/tmp/mainloop-bench") / f"history-{size}-{threads}.db"
    await anyio.Path(path.parent).mkdir(parents=True, exist_ok=True)
    store, thread_ids, vocab = await build(path, size, threads, rng)
    pyr = Pyramid(memory_store(store), zone("UTC"), clock=lambda: NOW)
    try:
        t = time.perf_counter()
        cold = await assemble_context(pyr, thread_ids[0], 8000)
        print(
            f"[{size:>9,}] first get_context of a never-summarised thread (lazy build): "
            f"{(time.perf_counter() - t) * 1000:.1f} ms, {len(cold.items)} items"
        )
        t = time.perf_counter()
        report = await compact(pyr)
        print(
            f"[{size:>9,}] compaction of the whole history: {time.perf_counter() - t:.1f} s "
            f"({report.summaries_built:,} summaries built, {report.sync_messages_posted:,} daily summaries "
            f"synced into main, {report.threads} threads)"
        )
        samples = []
        items = []
        for _ in range(rounds):
            thread_id = rng.choice(thread_ids)
            t = time.perf_counter()
            context = await assemble_context(pyr, thread_id, 8000)
            samples.append(time.perf_counter() - t)
            items.append(len(context.items))
        print(
            f"[{size:>9,}] get_context (budget 8000, with parent share), compacted: {percentiles(samples)}; "
            f"items median {statistics.median(items):.0f}"
        )
        queries = [" ".join(rng.sample(vocab[20:400], rng.randint(1, 2))) for _ in range(rounds)]
        samples, hits = [], []
        for q in queries:
            t = time.perf_counter()
            result = await search(pyr, q, limit=20)
            samples.append(time.perf_counter() - t)
            hits.append(len(result.matches))
        print(
            f"[{size:>9,}] search (1-2 mid-frequency words, limit 20): {percentiles(samples)}; "
            f"hits median {statistics.median(hits):.0f}"
        )
        samples = []
        for q in queries[: rounds // 2]:
            t = time.perf_counter()
            await search(pyr, q, thread_id=rng.choice(thread_ids), limit=20)
            samples.append(time.perf_counter() - t)
        print(f"[{size:>9,}] search in one thread: {percentiles(samples)}")
        print(f"[{size:>9,}] threads: {threads}")
        print(f"[{size:>9,}] database file: {(await anyio.Path(path).stat()).st_size / 1e6:,.0f} MB at {path}")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--threads", type=int, default=THREADS, help="project threads the messages spread over")
    parser.add_argument("--rounds", type=int, default=300, help="calls per latency measurement")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for size in args.sizes:
        anyio.run(measure, size, args.threads, random.Random(args.seed), args.rounds)


if __name__ == "__main__":
    main()
