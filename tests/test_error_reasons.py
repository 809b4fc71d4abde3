"""Every refusal says why in one line: the seeds that once answered only "Error executing tool X"
(issue #18), each checked for its reason. The fuzz suite (test_fuzz.py) carries the same seeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import open_hub
from mainloop_mcp.server import create_server
from tests.conftest import sqlite_url
from tests.test_fuzz import SEED_CURSORS

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    (tmp_path / "work").mkdir()
    settings = Settings(store=sqlite_url(tmp_path), agent_work_roots=[tmp_path / "work"])
    async with open_hub(settings) as hub, Client(create_server(hub)) as c:
        yield c


async def refusal(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert result.is_error, text
    assert "\n" not in text.strip() and len(text) < 1200
    return text


async def main_id(client: Client) -> str:
    result = await client.call_tool("get_thread", {})
    assert result.structured_content is not None
    return str(result.structured_content["id"])


@pytest.mark.parametrize("cursor", SEED_CURSORS)
async def test_forged_cursors_are_refused_with_a_reason(client: Client, cursor: str) -> None:
    text = await refusal(client, "read_messages", thread_id=await main_id(client), cursor=cursor)
    assert "is not a messages:newest cursor" in text


@pytest.mark.parametrize("period", ["9999-12", "9999-12-31", "9999-W52", "0001-01"])
async def test_periods_at_the_calendars_edges_are_refused_with_a_reason(client: Client, period: str) -> None:
    text = await refusal(client, "zoom", thread_id=await main_id(client), period=period)
    assert "outside the years 2..9998" in text


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2025-W53", "2026-02-30", "9999-12"])
async def test_a_bad_period_in_a_memory_uri_is_invalid_params(client: Client, period: str) -> None:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(f"memory://{await main_id(client)}/{period}")
    assert caught.value.error.code == INVALID_PARAMS and period in caught.value.error.message


async def test_work_folder_refusals_say_why_without_revealing_server_paths(client: Client, tmp_path: Path) -> None:
    parent = await main_id(client)
    long = await refusal(client, "spawn_agent", prompt="x", parent_thread_id=parent, work_folder="/" + "a" * 10_000)
    assert "File name too long" in long and "10,001 characters" in long
    home = await refusal(client, "spawn_agent", prompt="x", parent_thread_id=parent, work_folder="~")
    assert "outside the allowed agent work roots" in home and "really" not in home
    (tmp_path / "work" / "link").symlink_to("/etc")
    link = await refusal(
        client, "spawn_agent", prompt="x", parent_thread_id=parent, work_folder=f"{tmp_path}/work/link"
    )
    assert "outside the allowed" in link and "/etc" not in link


async def test_an_argument_the_tool_does_not_take_is_refused_with_the_one_it_does(client: Client) -> None:
    text = await refusal(client, "post_message", thread="main", content="hello", colour="red")
    assert "it takes no argument 'thread' (did you mean 'thread_id'?), 'colour'." in text
    text = await refusal(client, "search", query="tiles", thread="Kitchen")  # would widen the search unseen
    assert "'thread' (did you mean 'thread_id'?)" in text
