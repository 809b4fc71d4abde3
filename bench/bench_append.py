"""One-message append latency on the SQLite store (DESIGN target: p50 <= 1 ms), and batch ingest rate.

Run: .venv/bin/python bench/bench_append.py [N]   (prints figures; the database lives in a temp dir)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from mainloop_mcp.model import NewMessage, NewThread, ThreadType
from mainloop_mcp.store.sqlite.store import SqliteStore


def pct(samples: list[float], q: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(q * len(samples)))]


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await SqliteStore.open(Path(tmp) / "bench.db")
        thread = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="bench"))
        samples = []
        for i in range(n):
            t0 = time.perf_counter()
            await store.post_message(NewMessage(thread_id=thread.id, content=f"message {i} about the garden"))
            samples.append((time.perf_counter() - t0) * 1000)
        print(f"post_message x{n}: p50 {statistics.median(samples):.3f} ms, p99 {pct(samples, 0.99):.3f} ms")

        batch = [NewMessage(thread_id=thread.id, content=f"batch message {i} about tomatoes") for i in range(10_000)]
        t0 = time.perf_counter()
        for _ in range(10):
            await store.append_messages(batch)
        rate = 100_000 / (time.perf_counter() - t0)
        print(f"append_messages 10 x 10,000: {rate:,.0f} msgs/s")
        await store.close()


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
