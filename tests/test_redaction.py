"""Redaction reaches what compaction built from a message: its thread's summaries, the daily digests
that quoted them in the parent and the grandparent, and (on SQLite) the bytes of the database files."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.server import create_server
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio
SECRET = "sk-live-zebra42quasar"
# The index keeps terms with a shared prefix cut off, so look for the part no neighbour shares.
FRAGMENT = b"bra42quas"


@pytest.fixture
async def hub(store_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Hub]:
    async with open_hub(Settings(store=store_url, push_dir=tmp_path / "push"), clock=clock) as h:
        yield h


def text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


async def everything_read(client: Client, thread: str) -> str:
    page = await call(client, "read_messages", thread_id=thread, limit=500)
    memory = text(await client.call_tool("get_context", {"thread_id": thread, "token_budget": 100_000}))
    return json.dumps(page) + memory


async def test_redaction_reaches_digests_in_parent_and_grandparent(hub: Hub, clock: FakeClock, store_url: str) -> None:
    async with Client(create_server(hub)) as c:
        await call(c, "create_thread", title="Kitchen", thread_type="project")
        await call(c, "create_thread", title="Order tiles", thread_type="task", parent_id="Kitchen")
        await call(c, "create_thread", title="Pick paint", thread_type="task", parent_id="Kitchen")
        leaked = await call(c, "post_message", thread_id="Order tiles", content=f"supplier login is {SECRET} ok")
        await call(c, "post_message", thread_id="Pick paint", content="sage green for the walls")
        clock.advance(days=2)
        await call(c, "compact")
        before = await everything_read(c, "Kitchen") + await everything_read(c, "main")
        assert SECRET in before  # the digests quoted it, in the project and in main
        on_disk = store_url.startswith("sqlite:///")  # the emulator's files are not ours to read
        assert FRAGMENT in raw_bytes(store_url) or not on_disk

        await call(c, "redact_message", message_id=leaked["id"])
        for thread in ("Order tiles", "Kitchen", "main"):
            assert SECRET not in await everything_read(c, thread), thread
        found = await call(c, "search", query=SECRET.replace("-", " "), summaries=True)
        assert SECRET not in json.dumps(found)
        # The day's digest is posted again from the rebuilt summaries: the sibling is still there.
        kitchen = (await call(c, "read_messages", thread_id="Kitchen", limit=50))["messages"]
        digests = [m for m in kitchen if "Digest of 2026-11-24" in m["content"]]
        assert len(digests) == 1 and "sage green" in digests[0]["content"]
        await call(c, "compact")  # a later run posts nothing twice and brings nothing back
        assert SECRET not in await everything_read(c, "main")
        again = (await call(c, "read_messages", thread_id="Kitchen", limit=50))["messages"]
        assert len([m for m in again if "Digest of 2026-11-24" in m["content"]]) == 1
    # Not in the file either: not in freed pages, old index segments or the WAL.
    assert FRAGMENT not in raw_bytes(store_url)
    assert on_disk or store_url.startswith("bigquery://")


def raw_bytes(store_url: str) -> bytes:
    """Every byte of a SQLite store's files (nothing for other stores)."""
    if not store_url.startswith("sqlite:///"):
        return b""
    db = Path(store_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
