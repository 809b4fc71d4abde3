"""Latency of questions in plain words at 10k / 100k / 1M messages, mainloop `search` beside plain FTS5.

    .venv/bin/python -m bench.search_scale                       # 10k and 100k
    .venv/bin/python -m bench.search_scale --sizes 1000000       # 1M (built once, cached in /tmp)

History: N messages drawn from LongMemEval's real chat turns (bench/conversations.py; clipped to
400 characters, like chat messages), spread over 3 years and 200 project threads, appended through
the store's batch path. The database is kept in /tmp/mainloop-bench/ and reused while its schema
version matches; the top-k index beside it (store/sqlite/topk.py) is built before timing (its build
time is printed). Queries: LongMemEval's questions, verbatim. Figures (ms, p50 / p99):
  search              mainloop's search (parse, stemmed OR of meaningful terms, re-rank), limit 10:
                      the top-k index ranks the messages above 40,000 (topk.MIN_ROWS), FTS5 below
  search, 1 thread    the same with thread_id (one of the 200 threads)
  search, FTS5 only   the same two with the top-k index off: FTS5 within its row budget (TermStats),
  FTS5 only, 1 thread what a store answers while the index is being built (a pass each, not interleaved)
  1 thread, warm      the same one-thread questions again (the file's pages and word counts cached)
  ask_status          the whole ask_status answer (3 threads, 2,000 tokens each)
  fts5 OR, all words  the baseline: every word of the question ORed, ORDER BY rank LIMIT 10
  store, uncut        the store's FTS5 search with no term left out of the index query: the exact
                      FTS5 BM25 ranking; "agreement" is the share of its top 10 that the store's
                      search returns too, through the top-k index and through FTS5 only
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from bench._harness import percentile
from bench.conversations import longmemeval_histories
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import NewMessage, NewThread, Role, ThreadType
from mainloop_mcp.search.fulltext import search
from mainloop_mcp.search.query import parse
from mainloop_mcp.search.status import ask_status
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.sqlite import search as sqlite_search
from mainloop_mcp.store.sqlite import topk
from mainloop_mcp.store.sqlite.store import MIGRATIONS, SqliteStore

WORKDIR = Path("/tmp/mainloop-bench")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
THREADS = 200
BATCH = 20_000
CLIP = 400


async def build(path: Path, size: int, texts: list[str], rng: random.Random) -> SqliteStore:
    if await anyio.Path(path).exists():
        with sqlite3.connect(path) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            count = conn.execute("SELECT count(*) FROM messages").fetchone()[0] if version else 0
        if version == len(MIGRATIONS) and count >= size:
            print(f"[{size:>9,}] reusing {path}")
            return await SqliteStore.open(path, clock=lambda: NOW)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        await anyio.Path(stale).unlink(missing_ok=True)
    store = await SqliteStore.open(path, clock=lambda: NOW)
    threads = [
        (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title=f"Project {i}"))).id
        for i in range(THREADS)
    ]
    start = NOW - timedelta(days=3 * 365)
    span = (NOW - start).total_seconds()
    t0 = time.perf_counter()
    for lo in range(0, size, BATCH):
        batch = [
            NewMessage(
                thread_id=rng.choice(threads),
                role=rng.choice((Role.USER, Role.ASSISTANT)),
                content=rng.choice(texts)[:CLIP],
                created_at=start + timedelta(seconds=span * (lo + i) / size),
            )
            for i in range(min(BATCH, size - lo))
        ]
        await store.append_messages(batch)
    print(f"[{size:>9,}] built in {time.perf_counter() - t0:.0f} s: {path}")
    return store


def figures(ms: list[float]) -> str:
    return f"p50 {percentile(ms, 50):7.2f}  p99 {percentile(ms, 99):7.2f}"


async def measure(size: int, texts: list[str], questions: list[str], rounds: int) -> None:
    rng = random.Random(size)
    path = WORKDIR / f"search-scale-{size}.db"
    await anyio.Path(WORKDIR).mkdir(parents=True, exist_ok=True)
    store = await build(path, size, texts, rng)
    assert store.topk
    t0 = time.perf_counter()
    await anyio.to_thread.run_sync(store.topk.build)
    print(f"[{size:>9,}] top-k index built in {time.perf_counter() - t0:.1f} s")
    pyr = Pyramid(memory_store(store), zone("UTC"), clock=lambda: NOW)
    with sqlite3.connect(path) as conn:
        threads = [r[0] for r in conn.execute("SELECT id FROM threads WHERE thread_type = 'project'")]
    sample = rng.sample(questions, min(rounds, len(questions)))
    timings: dict[str, list[float]] = {
        "search": [],
        "search, 1 thread": [],
        "search, FTS5 only": [],
        "FTS5 only, 1 thread": [],
        "1 thread, warm": [],
        "ask_status": [],
        "fts5 OR, all words": [],
        "store, uncut": [],
    }
    baseline = sqlite3.connect(path)
    baseline.row_factory = sqlite3.Row
    agreement: dict[str, list[float]] = {"top-k index": [], "FTS5 only": []}
    stats, everywhere = sqlite_search.TermStats(), sqlite_search.Filters(None, None, None)
    picks = [(q, rng.choice(threads)) for q in sample]
    for mode, min_rows in (("", topk.MIN_ROWS), ("FTS5 only", size + 1)):  # a pass each: a hub runs one
        store.topk.min_rows = min_rows  # above the store's size: FTS5 ranks, within its row budget
        for q, thread in picks:
            t0 = time.perf_counter()
            await search(pyr, q, limit=10)
            timings[f"search, {mode}" if mode else "search"].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            await search(pyr, q, thread_id=thread, limit=10)
            timings[f"{mode}, 1 thread" if mode else "search, 1 thread"].append((time.perf_counter() - t0) * 1000)
    store.topk.min_rows = topk.MIN_ROWS
    for q in sample:
        t0 = time.perf_counter()
        words = [w for w in "".join(c if c.isalnum() else " " for c in q.lower()).split()]
        baseline.execute(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rank LIMIT 10",
            (" OR ".join(f'"{w}"' for w in words),),
        ).fetchall()
        timings["fts5 OR, all words"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        exact = [h.text for h in sqlite_search.search(baseline, parse(q), everywhere, 10)]
        timings["store, uncut"].append((time.perf_counter() - t0) * 1000)
        cut = [h.text for h in sqlite_search.search(baseline, parse(q), everywhere, 10, stats)]
        agreement["FTS5 only"].append(sum((Counter(exact) & Counter(cut)).values()) / max(1, len(exact)))
        ranked = [h.text for h in await store.search_text(parse(q), limit=10)]
        agreement["top-k index"].append(sum((Counter(exact) & Counter(ranked)).values()) / max(1, len(exact)))
    for q in sample:  # the same questions again, as in a hub that has run a while
        t0 = time.perf_counter()
        await search(pyr, q, thread_id=rng.choice(threads), limit=10)
        timings["1 thread, warm"].append((time.perf_counter() - t0) * 1000)
    for q in sample[: max(10, rounds // 5)]:
        t0 = time.perf_counter()
        await ask_status(pyr, q)
        timings["ask_status"].append((time.perf_counter() - t0) * 1000)
    baseline.close()
    await store.close()
    for name, ms in timings.items():
        print(f"[{size:>9,}] {name:<20} {figures(ms)} ms  (n={len(ms)})")
    for name, shares in agreement.items():
        share = 100 * sum(shares) / max(1, len(shares))
        print(f"[{size:>9,}] agreement, {name}: its top 10 holds {share:.1f}% of the uncut FTS5 top 10")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=200, help="questions timed per size")
    args = parser.parse_args()
    histories = longmemeval_histories()
    texts = [t.content for h in histories for t in h.turns]
    questions = [q.text for h in histories for q in h.questions]
    for size in args.sizes:
        await measure(size, texts, questions, args.rounds)


if __name__ == "__main__":
    anyio.run(main)
