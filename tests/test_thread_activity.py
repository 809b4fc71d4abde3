"""threads://activity: counts, newest message and preview per active thread (the phone's triage)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from mcp import Client

from mainloop_mcp.model import NewMessage, NewThread, ThreadType
from mainloop_mcp.store.base import Backend
from tests.conftest import FakeClock
from tests.test_tools_threads import ok

pytestmark = pytest.mark.anyio


async def activity(client: Client) -> dict[str, Any]:
    body = json.loads((await client.read_resource("threads://activity")).contents[0].text)  # type: ignore[union-attr]
    return {a["thread_id"]: a for a in body["threads"]}


async def test_activity_counts_and_previews_each_thread(client: Client) -> None:
    busy = await ok(client, "create_thread", title="Busy", thread_type="project")
    quiet = await ok(client, "create_thread", title="Quiet", thread_type="project")
    await ok(client, "post_message", thread_id=busy["id"], content="first")
    long = "line one\n\n" + "word " * 60
    await ok(client, "post_message", thread_id=busy["id"], role="assistant", content=long)
    by_id = await activity(client)
    assert by_id[busy["id"]]["message_count"] == 2
    assert by_id[busy["id"]]["last_role"] == "assistant"
    preview = by_id[busy["id"]]["preview"]
    assert preview.startswith("line one word word") and preview.endswith("…") and len(preview) == 140
    assert by_id[quiet["id"]] == {
        "thread_id": quiet["id"], "message_count": 0, "last_at": None, "last_role": None, "preview": None,
    }  # fmt: skip
    await ok(client, "archive_thread", thread_id=quiet["id"])
    assert quiet["id"] not in await activity(client)


async def test_the_store_reads_every_threads_activity_at_once(store: Backend, clock: FakeClock) -> None:
    a = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="A"))
    b = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="B"))
    empty = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Empty"))
    await store.post_message(NewMessage(thread_id=a.id, content="a1"))
    await store.post_message(NewMessage(thread_id=a.id, content="a2 newest", created_at=clock.now + timedelta(hours=1)))
    await store.post_message(
        NewMessage(thread_id=a.id, content="a3 imported late", created_at=clock.now - timedelta(days=9))
    )
    await store.post_message(NewMessage(thread_id=b.id, content="b1"))
    seen = await store.thread_activity([a.id, b.id, empty.id, "thr_unknown"])
    assert {t: (n, m.content) for t, (n, m) in seen.items()} == {a.id: (3, "a2 newest"), b.id: (1, "b1")}
    assert await store.thread_activity([]) == {}
