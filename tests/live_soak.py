"""The live soak: writers on several hub processes sharing one store, readers that keep dropping their
listen stream and resuming by sequence number, every event counted. Used by tests (short) and by
bench/live_bench.py (long)."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

import anyio
import httpx
from mcp import Client

from tests.live_wire import listen


@dataclass
class Reader:
    """One reconnecting reader: every sequence number it was told about, per thread URI."""

    seen: Counter[int] = field(default_factory=Counter)
    reconnects: int = 0
    resyncs: int = 0
    last_seq: int | None = None


@dataclass
class SoakResult:
    posts: int
    seconds: float
    readers: list[Reader]

    @property
    def lost(self) -> int:
        return sum(max(0, self.posts - len(r.seen)) for r in self.readers)

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for r in self.readers for n in r.seen.values() if n > 1)

    @property
    def extra(self) -> int:
        return sum(max(0, len(r.seen) - self.posts) for r in self.readers)

    def line(self) -> str:
        events = sum(sum(r.seen.values()) for r in self.readers)
        rate = self.posts / self.seconds
        return (
            f"{self.posts} posts in {self.seconds:.0f} s ({rate:.0f}/s), {len(self.readers)} readers,"
            f" {events} events counted, {sum(r.reconnects for r in self.readers)} reconnects,"
            f" {sum(r.resyncs for r in self.readers)} resyncs: lost {self.lost}, duplicated {self.duplicated},"
            f" unexpected {self.extra}"
        )


async def _thread_ids(url: str, count: int) -> list[str]:
    async with Client(url) as client:
        ids = []
        for i in range(count):
            made = await client.call_tool("create_thread", {"title": f"soak {i}", "thread_type": "project"})
            ids.append(str(made.structured_content["id"]))
        return ids


async def _read(url: str, uris: list[str], reader: Reader, ready: anyio.Event, stop: anyio.Event) -> None:
    rng = random.Random()
    async with httpx.AsyncClient() as http:
        while not stop.is_set():
            frames = listen(http, url, uris, since=reader.last_seq)
            try:
                with anyio.move_on_after(rng.uniform(0.3, 2.0)):  # then drop the connection and resume
                    async for frame in frames:
                        if frame.method == "notifications/subscriptions/acknowledged":
                            if reader.last_seq is None:
                                reader.last_seq = frame.seq
                            ready.set()
                        elif frame.meta.get("io.mainloop/resync"):
                            reader.resyncs += 1
                            reader.last_seq = frame.seq
                        elif frame.uri in uris and frame.seq is not None:
                            reader.seen[frame.seq] += 1
                            reader.last_seq = max(reader.last_seq or 0, frame.seq)
            finally:
                await frames.aclose()
            reader.reconnects += 1


async def _write(url: str, thread_id: str, deadline: float, counter: list[int]) -> None:
    """Post until the deadline; a post whose answer was lost (a busy machine drops connections) is
    retried with the same idempotency key on a new session, so each post counts, and lands, once."""
    writer = f"{thread_id}-{random.random()}"
    n = 0
    while time.monotonic() < deadline:
        try:
            async with Client(url) as client:
                while time.monotonic() < deadline:
                    args = {"thread_id": thread_id, "content": f"soak {n}", "idempotency_key": f"{writer}-{n}"}
                    result = await client.call_tool("post_message", args)
                    if not result.is_error:
                        counter[0] += 1
                    n += 1
        except Exception:  # the session broke mid-call: retry post n on a fresh one
            await anyio.sleep(0.2)


async def soak(urls: list[str], writers_per_process: int, readers_per_process: int, seconds: float) -> SoakResult:
    """Run the soak against hubs at `urls` (one store); readers count what they hear once writers stop."""
    threads = await _thread_ids(urls[0], writers_per_process)
    await anyio.sleep(1)  # every hub has heard of the new threads: readers count posts only
    uris = [f"thread://{t}" for t in threads]
    readers = [Reader() for _ in range(readers_per_process * len(urls))]
    counter = [0]
    stop = anyio.Event()
    async with anyio.create_task_group() as tasks:
        for i, reader in enumerate(readers):
            ready = anyio.Event()
            tasks.start_soon(_read, urls[i % len(urls)], uris, reader, ready, stop)
            with anyio.fail_after(30):
                await ready.wait()
        started = time.monotonic()
        async with anyio.create_task_group() as writers:
            for url in urls:
                for thread_id in threads:
                    writers.start_soon(_write, url, thread_id, started + seconds, counter)
        elapsed = time.monotonic() - started
        for _ in range(150):  # up to 30 s for every reader to catch up (resuming if between streams)
            if all(len(r.seen) >= counter[0] for r in readers):
                break
            await anyio.sleep(0.2)
        stop.set()
        tasks.cancel_scope.cancel()
    return SoakResult(counter[0], elapsed, readers)
