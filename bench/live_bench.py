"""Live updates: how soon another client sees a change, what idle subscribers cost, and a soak.

Real `mainloop serve` processes on one temporary SQLite file, clients in this process:
  latency      a writer (mcp.Client over HTTP) posts; a reader (a raw subscriptions/listen stream, as the
               phone page speaks it) on the same hub process, or on a second process on the same file,
               waits for the change. Printed beside it: the post's own round trip (the baseline).
  idle cost    CPU of a hub process over --idle-seconds with no sessions, then with --sessions open,
               subscribed listen streams and nothing changing.
  soak         2 processes x --writers writers posting, --readers reconnecting readers per process that
               drop their stream every 0.3-2 s and resume by sequence number; every event counted.

    .venv/bin/python bench/live_bench.py [--posts 200] [--sessions 1000] [--idle-seconds 20]
                                         [--writers 20] [--readers 2] [--soak-seconds 30]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
from _harness import PYTHON, ROOT, free_port, start_http, stop, summary
from mcp import Client

sys.path.insert(0, str(ROOT))
from tests.live_soak import soak
from tests.live_wire import listen

MAINLOOP = str(Path(PYTHON).parent / "mainloop")


def serve(store: Path) -> tuple[str, object]:
    port = free_port()
    env = {"MAINLOOP_STORE": f"sqlite:///{store}", "MAINLOOP_PORT": str(port), "MAINLOOP_LOG_LEVEL": "WARNING"}
    env["MAINLOOP_CONFIG"] = str(store.parent / "absent.toml")
    proc = start_http([MAINLOOP, "serve"], port, env, f"http://127.0.0.1:{port}/healthz")
    return f"http://127.0.0.1:{port}/mcp", proc


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def latency(writer_url: str, reader_url: str, posts: int) -> tuple[list[float], list[float]]:
    """(ms until the reader heard each post, ms of each post's own round trip)."""
    heard_ms: list[float] = []
    call_ms: list[float] = []
    async with httpx.AsyncClient() as http, Client(writer_url) as writer:
        main = str((await writer.call_tool("get_thread", {})).structured_content["id"])  # type: ignore[index]
        uri = f"thread://{main}"
        frames = listen(http, reader_url, [uri])
        await anext(frames)  # acknowledged
        for i in range(posts):
            # A random pause, so posts don't fall in step with the other process's 0.1 s look at the file.
            await anyio.sleep(random.uniform(0, 0.25))
            t0 = time.perf_counter()
            await writer.call_tool("post_message", {"thread_id": main, "content": f"latency {i}"})
            call_ms.append((time.perf_counter() - t0) * 1000)
            while (await anext(frames)).uri != uri:
                pass
            heard_ms.append((time.perf_counter() - t0) * 1000)
        await frames.aclose()
    return heard_ms, call_ms


async def idle_cost(url: str, pid: int, sessions: int, seconds: float) -> tuple[float, float]:
    """(% of one core with no sessions, % with `sessions` idle subscribed listen streams)."""
    before = cpu_seconds(pid)
    await anyio.sleep(seconds)
    alone = (cpu_seconds(pid) - before) / seconds * 100
    limits = httpx.Limits(max_connections=sessions + 10, max_keepalive_connections=sessions + 10)
    opened = 0
    async with httpx.AsyncClient(limits=limits) as http, anyio.create_task_group() as tasks:
        ready = anyio.Event()

        async def hold(i: int) -> None:
            nonlocal opened
            frames = listen(http, url, [f"thread://idle-{i}", "threads://active"])
            await anext(frames)
            opened += 1
            if opened == sessions:
                ready.set()
            async for _ in frames:
                pass

        for i in range(sessions):
            tasks.start_soon(hold, i)
        with anyio.fail_after(300):
            await ready.wait()
        await anyio.sleep(2)  # let the opening burst settle
        before = cpu_seconds(pid)
        await anyio.sleep(seconds)
        busy = (cpu_seconds(pid) - before) / seconds * 100
        tasks.cancel_scope.cancel()
    return alone, busy


def line(label: str, ms: list[float]) -> str:
    s = summary(ms)
    return f"  {label:<44} p50 {s['p50']:7.1f} ms   p99 {s['p99']:7.1f} ms   (n={s['n']})"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="mainloop-live-") as tmp:
        store = Path(tmp) / "mainloop.db"
        (url_a, proc_a), (url_b, proc_b) = serve(store), serve(store)
        try:
            print("change visible to another client (post -> listen frame), SQLite, 2 hub processes on one file")
            same, calls = await latency(url_a, url_a, args.posts)
            across, _ = await latency(url_a, url_b, args.posts)
            print(line("baseline: the post's own round trip", calls))
            print(line("another client, same process", same))
            print(line("another client, other process", across))
            print(line("same process, beyond the post's round trip", [h - c for h, c in zip(same, calls, strict=True)]))
        finally:
            stop(proc_b)
        try:
            pid = proc_a.pid  # type: ignore[attr-defined]
            alone, busy = await idle_cost(url_a, pid, args.sessions, args.idle_seconds)
            print(
                f"idle hub CPU over {args.idle_seconds:.0f} s: no sessions {alone:.2f}% of one core;"
                f" {args.sessions} subscribed listen streams {busy:.2f}%"
            )
        finally:
            stop(proc_a)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="mainloop-soak-") as tmp:
        store = Path(tmp) / "mainloop.db"
        hubs = [serve(store), serve(store)]
        try:
            result = await soak([u for u, _ in hubs], args.writers, args.readers, args.soak_seconds)
            print(f"soak, 2 processes x {args.writers} writers: {result.line()}")
        finally:
            for _, proc in hubs:
                stop(proc)  # type: ignore[arg-type]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--soak-seconds", type=float, default=30)
    anyio.run(main, parser.parse_args())
