"""Import speed on SQLite: the bulk import path beside `append_messages`, in one run; then 1M messages.

    .venv/bin/python bench/import_bench.py                  # 100k short + 100k 8-30-word messages, hook timing
    .venv/bin/python bench/import_bench.py --million        # also: 1M messages over 3 years, imported then compacted

Rates are messages per second of wall time, with the process CPU time beside it (the machine is shared:
CPU time is the steadier figure). Each measurement gets a fresh SQLite file (WAL, synchronous=FULL).
- `append_messages`: today's batch path (NewMessage objects built beforehand, no idempotency keys).
- `import_threads`: the import path, messages built beforehand, each with an idempotency key.
- `mainloop import jsonl` end to end: read + parse + check a generic JSONL file, then import_threads.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from mainloop_mcp.importers.progress import Progress
from mainloop_mcp.importers.runner import ImportReport, source_items, write_threads
from mainloop_mcp.memory.compact import compact
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import NewMessage, NewThread, ThreadType
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.imports import ImportedMessage, ImportedThread
from mainloop_mcp.store.sqlite.store import SqliteStore
from mainloop_mcp.store.timestamps import to_micros

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BATCH = 10_000
THREADS = 200
ROOT = Path(__file__).resolve().parent.parent


def vocabulary(rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "de", "po", "ga", "ri", "bo", "che", "fa"]
    return sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(6000)})[:5000]


def texts(n: int, long: bool, rng: random.Random) -> list[str]:
    if not long:
        return [f"batch message {i} about tomatoes" for i in range(n)]
    vocab = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    return [" ".join(rng.choices(vocab, weights, k=rng.randint(8, 30))).capitalize() + "." for _ in range(n)]


def times(n: int, rng: random.Random) -> list[datetime]:
    start, span = NOW - timedelta(days=365 * 3), 365 * 3 * 86400
    return [start + timedelta(seconds=s) for s in sorted(rng.random() * span for _ in range(n))]


class Clocked:
    def __enter__(self) -> Clocked:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def rate(self, n: int) -> str:
        return f"{n / self.wall:>9,.0f} msgs/s wall  {n / self.cpu:>9,.0f} msgs/s cpu"


async def fresh(tmp: Path, name: str) -> tuple[SqliteStore, list[str]]:
    store = await SqliteStore.open(tmp / f"{name}.db", clock=lambda: NOW)
    ids = [
        (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title=f"Project {i}"))).id
        for i in range(THREADS)
    ]
    return store, ids


async def compare(tmp: Path, n: int, long: bool, rng: random.Random) -> None:
    label = "8-30 words" if long else "short"
    body, when = texts(n, long, rng), times(n, rng)
    threads = [rng.randrange(THREADS) for _ in range(n)]

    store, ids = await fresh(tmp, f"append-{label}")
    batch = [NewMessage(thread_id=ids[threads[i]], content=body[i], created_at=when[i]) for i in range(n)]
    with Clocked() as appended:
        for lo in range(0, n, BATCH):
            await store.append_messages(batch[lo : lo + BATCH])
    await store.close()

    store, ids = await fresh(tmp, f"import-{label}")
    by_thread: dict[int, list[ImportedMessage]] = {}
    for i in range(n):
        by_thread.setdefault(threads[i], []).append(
            ImportedMessage(f"bench:{i:09d}", "user", body[i], to_micros(when[i]))
        )
    sources = [
        ImportedThread(f"bench:{t}", f"Imported {t}", ThreadType.PROJECT, messages=m) for t, m in by_thread.items()
    ]
    with Clocked() as imported:
        for lo in range(0, len(sources), 20):  # about BATCH messages a transaction, like the runner
            await store.import_threads(sources[lo : lo + 20])
    await store.close()

    path = tmp / f"{label}.jsonl"
    write_jsonl(path, body, when, threads)
    store, _ = await fresh(tmp, f"e2e-{label}")
    report = ImportReport()
    with Clocked() as end_to_end:
        await write_threads(store, source_items("jsonl", [path], report.tally), Progress(enabled=False), report)
    await store.close()
    assert report.counts.messages_added == n and not report.bad
    print(f"{label:>10}, {n:,} messages:")
    print(f"  append_messages (today's batch path)     {appended.rate(n)}")
    print(f"  import_threads (bulk import path)        {imported.rate(n)}   {appended.cpu / imported.cpu:.1f}x cpu")
    print(f"  mainloop import jsonl, end to end        {end_to_end.rate(n)}")


def write_jsonl(path: Path, body: list[str], when: list[datetime], threads: list[int]) -> None:
    with path.open("w") as f:
        for i, text in enumerate(body):
            record = {"id": i, "thread": f"Project {threads[i]}", "role": "user", "content": text}
            f.write(json.dumps({**record, "created_at": when[i].isoformat()}) + "\n")


async def million(tmp: Path, rng: random.Random) -> None:
    n = 1_000_000
    path = tmp / "million.jsonl"
    write_jsonl(path, texts(n, True, rng), times(n, rng), [rng.randrange(THREADS) for _ in range(n)])
    store = await SqliteStore.open(tmp / "million.db", clock=lambda: NOW)
    report = ImportReport()
    with Clocked() as imported:
        await write_threads(store, source_items("jsonl", [path], report.tally), Progress(), report)
    print(f"1M messages over 3 years, {THREADS} threads, import jsonl: {imported.wall:.1f} s ({imported.rate(n)})")
    pyr = Pyramid(memory_store(store), zone("UTC"), clock=lambda: NOW)
    with Clocked() as compacted:
        done = await compact(pyr)
    print(f"then compaction of the whole history: {compacted.wall:.1f} s ({done.summaries_built:,} summaries built)")
    await store.close()


def hook_timing(tmp: Path, rounds: int) -> None:
    """Wall time of one `mainloop hook` Stop call (a turn appended each time) beside a bare Python start."""
    transcript = (
        ROOT
        / "tests/fixtures/import/claude_code/-home-ana-src-garden-planner/7c1e2a90-5b3d-4f7e-9a61-0d2c8e4b1f37.jsonl"
    )
    lines = transcript.read_bytes().splitlines(keepends=True)
    live = tmp / "live.jsonl"
    env = {**os.environ, "MAINLOOP_STORE": f"sqlite:///{tmp / 'hook.db'}"}
    event = json.dumps(
        {
            "session_id": "7c1e2a90-5b3d-4f7e-9a61-0d2c8e4b1f37",
            "transcript_path": str(live),
            "cwd": "/home/ana/src/garden-planner",
            "hook_event_name": "Stop",
        }
    )
    bare, hooked = [], []
    mainloop = str(Path(sys.executable).parent / "mainloop")
    for i in range(rounds):
        live.write_bytes(b"".join(lines[: 3 + i * (len(lines) - 3) // rounds]))
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([mainloop, "hook"], input=event, text=True, env=env, check=True, capture_output=True)
        hooked.append(time.perf_counter() - t)
    print(
        f"hook Stop call, {rounds} runs: p50 {statistics.median(hooked) * 1000:.0f} ms, max {max(hooked) * 1000:.0f} ms"
        f"  (bare `python -c pass`: p50 {statistics.median(bare) * 1000:.0f} ms)"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        tmp = Path(name)
        rng = random.Random(7)
        await compare(tmp, args.n, False, rng)
        await compare(tmp, args.n, True, rng)
        hook_timing(tmp, args.hook_rounds)
        if args.million:
            await million(tmp, rng)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100_000, help="messages per comparison")
    parser.add_argument("--million", action="store_true", help="also import 1M messages, then compact them")
    parser.add_argument("--hook-rounds", type=int, default=10)
    parser.add_argument("--dir", default=None, help="where the temporary files go (default: system temp)")
    anyio.run(main, parser.parse_args())
