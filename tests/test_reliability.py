"""Reliability of a real `mainloop serve` under faults and load.

- SIGKILL in the middle of a burst of concurrent post_message calls: after a restart every
  acknowledged message is there exactly once, with its content.
- 50 concurrent clients writing to the same threads: nothing lost or duplicated, and each client's
  messages keep their order within each thread.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import ServedHub, start_hub, stop_hub

pytestmark = pytest.mark.anyio


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, arguments, result.content)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def all_messages(client: Client, thread_id: str) -> list[dict[str, Any]]:
    """Every message of a thread, oldest first, through the read_messages tool's pages."""
    messages: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await call(client, "read_messages", thread_id=thread_id, limit=500, order="oldest", cursor=cursor)
        messages += page["messages"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return messages


async def new_project(client: Client, title: str) -> str:
    return str((await call(client, "create_thread", title=title, thread_type="project"))["id"])


async def test_acknowledged_messages_survive_sigkill_exactly_once(tmp_path: Path) -> None:
    writers, kill_after = 12, 150
    hub = start_hub(tmp_path)
    acked: dict[str, str] = {}  # content -> message id, only for calls that returned a result
    attempted: set[str] = set()
    try:
        async with Client(hub.mcp_url) as setup:
            thread_id = await new_project(setup, "durability")
        killed = anyio.Event()

        async def writer(w: int) -> None:
            try:
                async with Client(hub.mcp_url, read_timeout_seconds=10) as client:
                    for i in range(10_000):
                        content = f"writer {w} message {i} " + "x" * random.randrange(2000)
                        attempted.add(content)
                        message = await call(client, "post_message", thread_id=thread_id, content=content)
                        acked[content] = message["id"]
                        if len(acked) >= kill_after and not killed.is_set():
                            os.kill(hub.proc.pid, signal.SIGKILL)
                            killed.set()
            except Exception:  # the server died under us: expected, stop this writer
                assert killed.is_set() or hub.proc.poll() is not None

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for w in range(writers):
                    tg.start_soon(writer, w)
        assert killed.is_set() and hub.proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        stop_hub(hub)

    db = tmp_path / "mainloop.db"
    with sqlite3.connect(db) as conn:  # the file survived the kill intact
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    restarted = start_hub(tmp_path)
    try:
        async with Client(restarted.mcp_url) as client:
            stored = await all_messages(client, thread_id)
    finally:
        stop_hub(restarted)

    by_content = Counter(m["content"] for m in stored)
    assert not [c for c, n in by_content.items() if n > 1], "a message was stored twice"
    missing = [c for c in acked if c not in by_content]
    assert not missing, f"{len(missing)} acknowledged messages lost"
    ids = {m["content"]: m["id"] for m in stored}
    assert all(ids[c] == acked[c] for c in acked), "an acknowledged message came back with another id"
    # Anything beyond the acknowledged ones was in flight at the kill: at most one per writer.
    unacked = [c for c in by_content if c not in acked]
    assert set(unacked) <= attempted and len(unacked) <= writers
    print(f"SIGKILL after {len(acked)} acknowledged posts from {writers} writers; {len(unacked)} in-flight also stored")


async def test_fifty_concurrent_clients_lose_duplicate_and_reorder_nothing(served: ServedHub) -> None:
    clients, threads, per_thread = 50, 4, 5
    async with Client(served.mcp_url) as setup:
        thread_ids = [await new_project(setup, f"shared {t}") for t in range(threads)]

    async def client_writes(c: int) -> None:
        async with Client(served.mcp_url, mode=random.choice(["auto", "legacy"])) as client:
            # Interleave the threads in a random order, keeping each thread's own sequence.
            plan = [t for t in range(threads) for _ in range(per_thread)]
            random.shuffle(plan)
            sent = Counter[int]()
            for t in plan:
                content = f"client {c} thread {t} seq {sent[t]}"
                await call(client, "post_message", thread_id=thread_ids[t], content=content, role="agent")
                sent[t] += 1

    with anyio.fail_after(180):
        async with anyio.create_task_group() as tg:
            for c in range(clients):
                tg.start_soon(client_writes, c)

    async with Client(served.mcp_url) as reader:
        for t, thread_id in enumerate(thread_ids):
            stored = [m["content"] for m in await all_messages(reader, thread_id)]
            expected = {f"client {c} thread {t} seq {s}" for c in range(clients) for s in range(per_thread)}
            assert len(stored) == len(expected) == clients * per_thread
            assert set(stored) == expected  # nothing lost, nothing foreign, and (by length) no duplicates
            for c in range(clients):
                own = [m for m in stored if m.startswith(f"client {c} ")]
                assert own == [f"client {c} thread {t} seq {s}" for s in range(per_thread)], own
