"""Memory footprint of `mainloop serve`: RSS idle, under load, and after the load, beside a bare MCPServer.

Load: `--clients` concurrent Streamable HTTP sessions, each posting `--posts` 1 KiB messages into
its own thread and reading the thread back every 10 posts. RSS is read from /proc every 50 ms.

    .venv/bin/python bench/memory_footprint.py [--clients 20] [--posts 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio
from _harness import PYTHON, files_mib, free_port, rss_mib, start_http, stop
from mcp import Client

MAINLOOP = str(Path(PYTHON).parent / "mainloop")


async def idle_rss(argv: list[str], env: dict[str, str], port: int) -> float:
    proc = start_http(argv, port, env, f"http://127.0.0.1:{port}/healthz")
    try:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            await client.list_tools()
        await anyio.sleep(1)
        return rss_mib(proc.pid)[0]
    finally:
        stop(proc)


async def main(clients: int, posts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            "MAINLOOP_STORE": f"sqlite:///{tmp}/bench.db",
            "MAINLOOP_LOG_LEVEL": "WARNING",
            "MAINLOOP_CONFIG": f"{tmp}/absent.toml",
            "MAINLOOP_PORT": str(port),
        }
        bare_port = free_port()
        bare = await idle_rss([PYTHON, "bench/servers.py", "bare", "http", str(bare_port)], {}, bare_port)

        proc = start_http([MAINLOOP, "serve"], port, env, f"http://127.0.0.1:{port}/healthz")
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            async with Client(url) as client:
                await client.list_tools()
            await anyio.sleep(1)
            idle = rss_mib(proc.pid)[0]
            samples: list[float] = []
            done = anyio.Event()

            async def sample() -> None:
                while not done.is_set():
                    samples.append(rss_mib(proc.pid)[0])
                    await anyio.sleep(0.05)

            async def writer(c: int) -> None:
                async with Client(url) as client:
                    made = await client.call_tool("create_thread", {"title": f"load {c}", "thread_type": "project"})
                    assert made.structured_content is not None
                    thread_id = made.structured_content["id"]
                    for i in range(posts):
                        await client.call_tool(
                            "post_message", {"thread_id": thread_id, "content": f"{c}/{i} " + "m" * 1024}
                        )
                        if i % 10 == 9:
                            await client.call_tool("read_messages", {"thread_id": thread_id, "limit": 50})

            t0 = time.perf_counter()
            async with anyio.create_task_group() as tg:
                tg.start_soon(sample)
                async with anyio.create_task_group() as writers:
                    for c in range(clients):
                        writers.start_soon(writer, c)
                done.set()
            elapsed = time.perf_counter() - t0
            after, peak = rss_mib(proc.pid)
            await anyio.sleep(5)
            settled = rss_mib(proc.pid)[0]
        finally:
            stop(proc)
        db_mib = files_mib(tmp, "bench.db*")

    total = clients * posts
    print(
        f"load: {clients} concurrent HTTP clients x {posts} posts of 1 KiB = {total} posts (+ reads) in {elapsed:.1f} s"
    )
    print(f"({total / elapsed:.0f} posts/s); database {db_mib:.1f} MiB afterwards\n")
    print("| process | RSS MiB |")
    print("|---|---|")
    print(f"| bare MCPServer (echo tool), idle | {bare:.1f} |")
    print(f"| mainloop serve, idle after start | {idle:.1f} |")
    print(
        f"| mainloop serve, under load: median / max sampled | {statistics.median(samples):.1f} / {max(samples):.1f} |"
    )
    print(f"| mainloop serve, peak (VmHWM) | {peak:.1f} |")
    print(f"| mainloop serve, right after load / 5 s later | {after:.1f} / {settled:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--posts", type=int, default=200)
    a = parser.parse_args()
    anyio.run(main, a.clients, a.posts)
