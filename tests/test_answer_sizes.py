"""No answer outgrows the official MCP client: its SSE reader drops the session on an event over 1 MiB.
Real `mainloop serve`, the official `mcp` client over Streamable HTTP, content at the limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mainloop_mcp.model import MAX_CONTENT_BYTES, NewMessage, NewThread, ThreadType
from mainloop_mcp.store import open_store
from tests.conftest import sqlite_url, start_hub, stop_hub

pytestmark = pytest.mark.anyio

CONTROL = "\x01"  # 1 byte of text, 6 bytes of JSON (\u0001)


async def seed(tmp_path: Path) -> dict[str, str]:
    store = await open_store(sqlite_url(tmp_path))
    try:
        big = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="big"))
        many = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="many"))
        await store.append_messages(
            [NewMessage(thread_id=big.id, content="x" * MAX_CONTENT_BYTES) for _ in range(3)]
            + [NewMessage(thread_id=big.id, content=CONTROL * (MAX_CONTENT_BYTES // 6))]
            + [NewMessage(thread_id=many.id, content=f"{i:04d} " + "y" * 1200) for i in range(500)]
        )
        for i in range(8):  # contexts near their limit: the active-thread list outgrows one answer
            await store.create_thread(
                NewThread(thread_type=ThreadType.PROJECT, title=f"ctx {i}", thread_context="c" * 250_000)
            )
    finally:
        await store.close()
    return {"big": big.id, "many": many.id}


async def ok(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, str(result.content)[:300]
    structured: dict[str, Any] | None = result.structured_content
    assert structured is not None
    return structured


async def read_all(client: Client, thread_id: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    messages: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        page = await ok(
            client, "read_messages", thread_id=thread_id, limit=limit, **({"cursor": cursor} if cursor else {})
        )
        messages += page["messages"]
        pages += 1
        cursor = page.get("next_cursor")
        if cursor is None:
            return messages, pages


async def test_answers_at_the_limits_reach_the_official_client(tmp_path: Path) -> None:
    ids = await seed(tmp_path)
    served = start_hub(tmp_path)
    try:
        async with Client(served.mcp_url) as client:
            many, pages = await read_all(client, ids["many"], 500)
            assert len(many) == 500 and len({m["id"] for m in many}) == 500 and pages >= 2
            big, _ = await read_all(client, ids["big"], 50)
            assert [len(m["content"]) for m in big] == [MAX_CONTENT_BYTES // 6] + [MAX_CONTENT_BYTES] * 3
            over = await client.call_tool(
                "post_message", {"thread_id": ids["big"], "content": CONTROL * (MAX_CONTENT_BYTES // 6 + 1)}
            )
            text = " ".join(getattr(c, "text", "") for c in over.content)
            assert over.is_error and "as JSON; the limit is" in text
            view = await client.read_resource(f"thread://{ids['big']}")
            assert len(json.loads(view.contents[0].text)["recent_messages"]) >= 1  # type: ignore[union-attr]
            active = json.loads((await client.read_resource("threads://active")).contents[0].text)  # type: ignore[union-attr]
            assert active["more"] and "list_threads" in active["more"]
            listed = await ok(client, "list_threads", limit=50)
            # list_threads leaves thread contexts out (get_thread has them), so all fit one small page.
            assert listed.get("next_cursor") is None and len(json.dumps(listed)) < 20_000
            with anyio.fail_after(30):
                assert (await ok(client, "get_thread"))["thread_type"] == "main"  # the session survived it all
    finally:
        stop_hub(served)
