"""Sub-agent costs with the real claude-code-mcp and the stand-in CLI (tests/fake_claude/claude).

1. Spawn overhead per run: spawn_agent latency, then spawn -> result recorded, one run at a time,
   next to the stand-in CLI's own run time; the difference is what mainloop + claude-code-mcp add.
2. The hub's tool-call latency (read_messages over Streamable HTTP against a real `mainloop serve`)
   while 50 runs are in flight (DESIGN goal p99 <= 50 ms), with an idle baseline.

Run: .venv/bin/python bench/bench_agents.py [RUNS] [IN_FLIGHT]   (defaults 20 and 50; temp dirs only)
Figures are noisy on a shared 2-core box: 50 node servers compete with the hub for CPU.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mainloop_mcp.config import Settings  # noqa: E402
from mainloop_mcp.hub import open_hub  # noqa: E402
from mainloop_mcp.model import NewThread, ThreadType  # noqa: E402
from tests.conftest import start_hub, stop_hub  # noqa: E402

FAKE = ROOT / "tests" / "fake_claude" / "claude"


def pct(samples: list[float], q: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(q * len(samples)))]


def line(name: str, samples: list[float]) -> str:
    return (
        f"{name}: n={len(samples)} p50 {statistics.median(samples):.1f} ms, "
        f"p95 {pct(samples, 0.95):.1f} ms, p99 {pct(samples, 0.99):.1f} ms"
    )


async def spawn_overhead(tmp: Path, runs: int) -> None:
    work = tmp / "work"
    work.mkdir()
    settings = Settings(
        store=f"sqlite:///{tmp / 'spawn.db'}", agent_work_roots=[work], claude_cli=str(FAKE), agent_concurrency=1
    )
    bare = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await anyio.run_process([str(FAKE), "--dangerously-skip-permissions", "-p", "bench"], cwd=work)
        bare.append((time.perf_counter() - t0) * 1000)
    async with open_hub(settings) as hub:
        parent = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="bench"))
        spawn, total = [], []
        for i in range(runs):
            t0 = time.perf_counter()
            run = await hub.agents.spawn(f"bench {i}", parent.id, str(work), None)
            spawn.append((time.perf_counter() - t0) * 1000)
            done = await hub.agents.wait(run.id)
            total.append((time.perf_counter() - t0) * 1000)
            assert done.status.value == "succeeded", done.error
    print(line("spawn_agent call (returns the queued run)", spawn))
    print(line("spawn -> result recorded, one at a time", total))
    print(line("stand-in CLI alone (subprocess)", bare))
    print(f"overhead per run (p50 total - p50 CLI): {statistics.median(total) - statistics.median(bare):.0f} ms")


async def tool_latency(url: str, calls: int, thread_id: str) -> list[float]:
    samples = []
    async with Client(url) as client:
        for _ in range(calls):
            t0 = time.perf_counter()
            result = await client.call_tool("read_messages", {"thread_id": thread_id, "limit": 20})
            samples.append((time.perf_counter() - t0) * 1000)
            assert not result.is_error
    return samples


async def under_load(tmp: Path, in_flight: int) -> None:
    work, records = tmp / "work", tmp / "records"
    work.mkdir()
    records.mkdir()
    env = {
        "MAINLOOP_AGENT_WORK_ROOTS": json.dumps([str(work)]),
        "MAINLOOP_CLAUDE_CLI": str(FAKE),
        "MAINLOOP_AGENT_CONCURRENCY": str(in_flight),
        "MAINLOOP_AGENT_BACKEND": json.dumps({"env": {"FAKE_CLAUDE_DIR": str(records)}}),
        "MAINLOOP_LOG_LEVEL": "WARNING",
    }
    served = start_hub(tmp, env=env)
    try:
        async with Client(served.mcp_url) as client:
            parent = await client.call_tool("create_thread", {"title": "load", "thread_type": "project"})
            parent_id = parent.structured_content["id"]  # type: ignore[index]
            for i in range(5):
                await client.call_tool("post_message", {"thread_id": parent_id, "content": f"note {i}"})
            idle = await tool_latency(served.mcp_url, 300, parent_id)
            t0 = time.perf_counter()
            ids = []
            for i in range(in_flight):
                r = await client.call_tool(
                    "spawn_agent",
                    {"prompt": f"load {i} SLEEP=120", "parent_thread_id": parent_id, "work_folder": str(work)},
                )
                ids.append(r.structured_content["id"])  # type: ignore[index]
            for _ in range(3000):  # up to 10 min for all servers to start on a busy box
                if len(list(records.glob("*.start"))) >= in_flight:
                    break
                await anyio.sleep(0.2)
            print(f"{in_flight} runs in flight after {time.perf_counter() - t0:.1f} s")
            busy = await tool_latency(served.mcp_url, 300, parent_id)
            running = await client.call_tool("list_agents", {"status": "running", "limit": 100})
            print(f"runs recorded running during the measurement: {len(running.structured_content['runs'])}")  # type: ignore[index]
            t0 = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for run_id in ids:
                    tg.start_soon(client.call_tool, "cancel_agent", {"run_id": run_id})
            print(f"cancelled {in_flight} runs concurrently in {time.perf_counter() - t0:.1f} s")
        print(line("read_messages over HTTP, idle hub", idle))
        print(line(f"read_messages over HTTP, {in_flight} runs in flight", busy))
    finally:
        stop_hub(served)
        leftover = [int(p.stem) for p in records.glob("*.start") if not p.with_suffix(".end").exists()]
        for pid in leftover:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


async def main(runs: int, in_flight: int) -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        await spawn_overhead(Path(a), runs)
        await under_load(Path(b), in_flight)


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 20, int(sys.argv[2]) if len(sys.argv) > 2 else 50)
