"""Hub overhead: latency of a trivial tool call through mainloop vs a bare MCPServer, same run.

Three servers, each its own process, over stdio and over Streamable HTTP (127.0.0.1):
  bare echo      an MCPServer with one `echo(text)` tool and nothing else (bench/servers.py bare)
  mainloop echo  mainloop's own server, middleware and Starlette app (auth, DNS-rebinding checks,
                 /healthz, lifespan) with the same `echo` added for this benchmark only (servers.py hub)
  mainloop get_thread  the product as shipped (`mainloop serve` / `mainloop stdio`), its cheapest
                 real tool: one SQLite read in a worker thread, a pydantic model out
The client is the SDK's mcp.Client in this process, one session per cell, calls in sequence.

    .venv/bin/python bench/hub_overhead.py [--calls 2000] [--rounds 10] [--modes auto,legacy]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path

import anyio
from _harness import PYTHON, ROOT, free_port, start_http, stop, summary, timed_calls
from mcp import Client, StdioServerParameters

MAINLOOP = str(Path(PYTHON).parent / "mainloop")
SERVERS = {
    "bare echo": ([PYTHON, "bench/servers.py", "bare"], "echo", {"text": "ping"}),
    "mainloop echo": ([PYTHON, "bench/servers.py", "hub"], "echo", {"text": "ping"}),
    "mainloop get_thread": ([MAINLOOP], "get_thread", {}),
}


@asynccontextmanager
async def connect(transport: str, server: str, mode: str, env: dict[str, str]) -> AsyncIterator[Client]:
    """A client session to a freshly started server process."""
    command = SERVERS[server][0]
    if transport == "stdio":
        argv = [*command, "stdio"]
        params = StdioServerParameters(command=argv[0], args=argv[1:], env={**os.environ, **env}, cwd=ROOT)
        async with Client(params, mode=mode) as client:
            yield client
        return
    port = free_port()
    argv = [*command, "serve"] if command == [MAINLOOP] else [*command, "http", str(port)]
    proc = start_http(argv, port, {**env, "MAINLOOP_PORT": str(port)}, f"http://127.0.0.1:{port}/healthz")
    try:
        async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
            yield client
    finally:
        stop(proc)


async def measure_group(
    transport: str, mode: str, calls: int, rounds: int, env: dict[str, str]
) -> dict[str, list[float]]:
    """All three servers up at once; rounds interleave them in shuffled order so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in SERVERS}
    async with AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(connect(transport, name, mode, env)) for name in SERVERS}
        for name, client in clients.items():
            _, tool, args = SERVERS[name]
            result = await client.call_tool(tool, args)
            assert not result.is_error, result.content
        for _ in range(rounds):
            for name in random.sample(list(SERVERS), len(SERVERS)):
                _, tool, args = SERVERS[name]
                client = clients[name]
                samples[name] += await timed_calls(partial(client.call_tool, tool, args), calls // rounds, warmup=20)
    return samples


async def main(calls: int, rounds: int, modes: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "MAINLOOP_STORE": f"sqlite:///{tmp}/bench.db",
            "MAINLOOP_LOG_LEVEL": "WARNING",
            "MAINLOOP_CONFIG": f"{tmp}/absent.toml",
        }
        print(f"{calls} sequential calls per cell in {rounds} interleaved rounds; client-observed latency in ms\n")
        print("| transport | protocol mode | server | p50 | p99 | mean | p50 vs bare | p99 vs bare |")
        print("|---|---|---|---|---|---|---|---|")
        for transport in ("stdio", "http"):
            for mode in modes:
                samples = await measure_group(transport, mode, calls, rounds, env)
                base = summary(samples["bare echo"])
                for server, ms in samples.items():
                    s = summary(ms)
                    print(
                        f"| {transport} | {mode} | {server} | {s['p50']:.2f} | {s['p99']:.2f} | {s['mean']:.2f} "
                        f"| {s['p50'] / base['p50']:.2f}x | {s['p99'] / base['p99']:.2f}x |",
                        flush=True,
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--modes", default="auto,legacy")
    a = parser.parse_args()
    anyio.run(main, a.calls, a.rounds, a.modes.split(","))
