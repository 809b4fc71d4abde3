"""Peer benchmark: the reference `@modelcontextprotocol/server-memory` vs mainloop, same content,
same harness (mcp.Client over stdio, one session each, this process).

Content: `--items` (10,000) items, item i = entity `entity_{i:05d}` of one of 5 types with three
~50-character observations, one of them holding the token `keyword{100 + (i*7) % 900}`.
- server-memory: `create_entities` in batches of 100 (its own batch API), then `search_nodes`.
- mainloop: one `post_message` per item (text = the entity's name, type and observations; up to
  `--inflight` calls in flight on the one session) into one project thread, then `search`.
Search: 50 selective queries `keyword<K>` (same random K both sides; K has 3 digits, so the peer's
substring match and mainloop's word match select the same items), timed at 1,000 and at every
checkpoint up to `--items`. The mainloop side needs the `search` tool; on a build without it the
script says so and reports the peer alone.

    .venv/bin/python bench/peer_memory.py [--items 10000] [--queries 50]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _harness import NODE, PYTHON, ROOT, files_mib, percentile
from mcp import Client, StdioServerParameters

SERVER_MEMORY = ROOT / "node_modules" / "@modelcontextprotocol" / "server-memory" / "dist" / "index.js"
MAINLOOP = str(Path(PYTHON).parent / "mainloop")
TYPES = ["person", "project", "tool", "place", "idea"]


def keyword(i: int) -> int:
    return 100 + (i * 7) % 900


def entity(i: int) -> dict[str, Any]:
    return {
        "name": f"entity_{i:05d}",
        "entityType": TYPES[i % len(TYPES)],
        "observations": [
            f"observation one about entity {i} and its neighbours",
            f"this entity carries keyword{keyword(i)} for lookups",
            f"a third note, number {i * 13 % 997}, for padding the text",
        ],
    }


def as_message(e: dict[str, Any]) -> str:
    return f"{e['name']} ({e['entityType']}): " + " / ".join(e["observations"])


def progress(side: str, n: int, stored_s: float, result: tuple[float, float, float]) -> None:
    p50, p90, hits = result
    print(
        f"  {side}: {n} stored in {stored_s:.1f} s; search p50/p90 {p50:.1f}/{p90:.1f} ms, {hits:.1f} hits", flush=True
    )


async def search_latency(
    client: Client, tool: str, queries: list[int], limit_arg: dict[str, Any]
) -> tuple[float, float, float]:
    """(p50 ms, p90 ms, mean hits) for the selective queries."""
    hits: list[int] = []
    times: list[float] = []
    for k in queries:
        t0 = time.perf_counter_ns()
        result = await client.call_tool(tool, {"query": f"keyword{k}", **limit_arg})
        times.append((time.perf_counter_ns() - t0) / 1e6)
        assert not result.is_error, result.content
        data = result.structured_content or {}
        hits.append(len(data.get("entities", data.get("matches", data.get("results", [])))))
    return percentile(times, 50), percentile(times, 90), sum(hits) / len(hits)


async def peer(
    items: int, checkpoints: list[int], queries: list[int], tmp: str
) -> dict[int, tuple[float, float, float]]:
    memory_file = Path(tmp) / "memory.jsonl"
    params = StdioServerParameters(
        command=str(NODE), args=[str(SERVER_MEMORY)], env={**os.environ, "MEMORY_FILE_PATH": str(memory_file)}
    )
    out: dict[int, tuple[float, float, float]] = {}
    async with Client(params) as client:
        t0 = time.perf_counter()
        for start in range(0, items, 100):
            result = await client.call_tool(
                "create_entities", {"entities": [entity(i) for i in range(start, start + 100)]}
            )
            assert not result.is_error, result.content
            if start + 100 in checkpoints:
                stored = time.perf_counter() - t0
                out[start + 100] = await search_latency(client, "search_nodes", queries, {})
                progress("server-memory", start + 100, stored, out[start + 100])
    print(f"  server-memory file: {files_mib(tmp, 'memory.jsonl'):.1f} MiB")
    return out


async def mainloop(
    items: int, checkpoints: list[int], queries: list[int], inflight: int, tmp: str
) -> dict[int, tuple[float, float, float]] | None:
    env = {
        **os.environ,
        "MAINLOOP_STORE": f"sqlite:///{tmp}/mainloop.db",
        "MAINLOOP_LOG_LEVEL": "WARNING",
        "MAINLOOP_CONFIG": f"{tmp}/absent.toml",
    }
    out: dict[int, tuple[float, float, float]] = {}
    async with Client(StdioServerParameters(command=MAINLOOP, args=["stdio"], env=env)) as client:
        if "search" not in {t.name for t in (await client.list_tools()).tools}:
            print("  mainloop: this build has no `search` tool; mainloop side not run")
            return None
        made = await client.call_tool("create_thread", {"title": "peer benchmark", "thread_type": "project"})
        assert made.structured_content is not None
        thread_id = made.structured_content["id"]
        t0 = time.perf_counter()
        done = 0
        limiter = anyio.Semaphore(inflight)

        async def post(i: int) -> None:
            async with limiter:
                content = as_message(entity(i))
                result = await client.call_tool("post_message", {"thread_id": thread_id, "content": content})
                assert not result.is_error, result.content

        for stop_at in checkpoints:
            async with anyio.create_task_group() as tg:
                for i in range(done, stop_at):
                    tg.start_soon(post, i)
            done = stop_at
            stored = time.perf_counter() - t0
            out[stop_at] = await search_latency(client, "search", queries, {"limit": 100})
            progress("mainloop", stop_at, stored, out[stop_at])
    print(f"  mainloop database: {files_mib(tmp, 'mainloop.db*'):.1f} MiB")
    return out


async def main(items: int, n_queries: int, inflight: int) -> None:
    rng = random.Random(7)
    queries = [rng.randrange(100, 1000) for _ in range(n_queries)]
    checkpoints = sorted({c for c in (1000, items) if c <= items})
    with tempfile.TemporaryDirectory() as tmp:
        print("server-memory (npm @modelcontextprotocol/server-memory), stdio:")
        theirs = await peer(items, checkpoints, queries, tmp)
        print("mainloop (mainloop stdio):")
        ours = await mainloop(items, checkpoints, queries, inflight, tmp)
    print(
        "\n| items | server-memory search_nodes p50 / p90 ms | mainloop search p50 / p90 ms"
        " | p50 ratio (peer / mainloop) |"
    )
    print("|---|---|---|---|")
    for n in checkpoints:
        p = theirs[n]
        m = f"{ours[n][0]:.1f} / {ours[n][1]:.1f}" if ours else "not run"
        ratio = f"{p[0] / ours[n][0]:.1f}x" if ours else "-"
        print(f"| {n:,} | {p[0]:.1f} / {p[1]:.1f} | {m} | {ratio} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--inflight", type=int, default=8)
    a = parser.parse_args()
    anyio.run(main, a.items, a.queries, a.inflight)
