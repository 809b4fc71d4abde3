"""The memory's MCP surface through a real in-memory client: tools, the memory:// template, prompts, CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import TextContent, TextResourceContents

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.model import NewMessage, NewThread, ThreadType
from mainloop_mcp.server import create_server
from tests.conftest import VENV_BIN, FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
async def timed_hub(settings: Settings, clock: FakeClock) -> AsyncIterator[Hub]:
    async with open_hub(settings, clock=clock) as h:
        yield h


@pytest.fixture(params=["auto", "legacy"])
async def mem_client(request: pytest.FixtureRequest, timed_hub: Hub) -> AsyncIterator[Client]:
    async with Client(create_server(timed_hub), mode=request.param) as c:
        yield c


@pytest.fixture
async def garden(timed_hub: Hub, clock: FakeClock) -> str:
    """A project with one message a day for 70 days, about pumps, seeds and compost."""
    store = timed_hub.store
    thread = (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden"))).id
    topics = ["irrigation pump seal", "seed order", "compost heap"]
    await store.append_messages(
        [
            NewMessage(
                thread_id=thread,
                content=f"Day {i}: {topics[i % 3]} discussed.",
                created_at=clock.now - timedelta(days=i),
            )
            for i in range(70)
        ]
    )
    return thread


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


async def error_of(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error
    assert isinstance(result.content[0], TextContent)
    return result.content[0].text


async def test_memory_tools_are_listed(mem_client: Client) -> None:
    names = {t.name for t in (await mem_client.list_tools()).tools}
    assert {"get_context", "zoom", "search", "ask_status", "compact"} <= names
    templates = {t.uri_template for t in (await mem_client.list_resource_templates()).resource_templates}
    assert "memory://{thread_id}/{period}" in templates
    prompts = {p.name for p in (await mem_client.list_prompts()).prompts}
    assert {"daily-review", "summarize-period"} <= prompts


async def test_get_context_then_zoom_into_an_item(mem_client: Client, garden: str) -> None:
    context = await call(mem_client, "get_context", thread_id=garden, token_budget=20_000)
    assert context["complete"] and sum(i["source_message_count"] for i in context["items"]) == 70
    month = next(i for i in context["items"] if i["granularity"] == "month")
    zoomed = await call(mem_client, "zoom", thread_id=garden, period=month["period"])
    assert zoomed["level"] == "week"
    assert sum(i["source_message_count"] for i in zoomed["items"]) == month["source_message_count"]
    day = zoomed["items"][-1]
    messages = await call(mem_client, "zoom", thread_id=garden, period=day["period"], level="message")
    assert all(i["granularity"] == "message" for i in messages["items"])


async def test_search_and_ask_status(mem_client: Client, timed_hub: Hub, garden: str) -> None:
    other = await timed_hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Taxes"))
    await timed_hub.store.post_message(NewMessage(thread_id=other.id, content="Filed the tax return."))
    found = await call(mem_client, "search", query="pump seal", limit=5)
    assert found["matches"] and all(m["thread_id"] == garden for m in found["matches"])
    assert all("[pump]" in m["snippet"].lower() for m in found["matches"])
    status = await call(mem_client, "ask_status", topic="irrigation pump")
    assert [t["thread_id"] for t in status["threads"]] == [garden]
    assert status["threads"][0]["context"]["items"]
    only_taxes = await call(mem_client, "search", query="tax", thread_id=other.id)
    assert [m["thread_id"] for m in only_taxes["matches"]] == [other.id]


async def test_compact_tool_builds_summaries(mem_client: Client, garden: str) -> None:
    first = await call(mem_client, "compact")
    assert first["summaries_built"] > 40
    again = await call(mem_client, "compact", thread_id=garden)
    assert again["summaries_built"] == 0


async def test_bad_input_is_a_clear_tool_error(mem_client: Client, garden: str) -> None:
    assert "no thread with id 'thr_nope'" in await error_of(mem_client, "get_context", thread_id="thr_nope")
    assert "token_budget 50 is out of range" in await error_of(
        mem_client, "get_context", thread_id=garden, token_budget=50
    )
    bad_period = await error_of(mem_client, "zoom", thread_id=garden, period="November")
    assert "'November' is not a calendar period" in bad_period and "2026-W47" in bad_period
    assert "has no words to search for" in await error_of(mem_client, "search", query="  ?! ")
    assert "has no words" in await error_of(mem_client, "ask_status", topic="")


async def test_memory_resource_reads_a_period(mem_client: Client, garden: str) -> None:
    result = await mem_client.read_resource(f"memory://{garden}/2026-W46")
    content = result.contents[0]
    assert isinstance(content, TextResourceContents)
    view = json.loads(content.text)
    assert view["granularity"] == "week" and view["summary"]["source_message_count"] == 7
    assert view["finer"] == [f"2026-11-{d:02d}" for d in range(9, 16)]
    with pytest.raises(MCPError, match="not a calendar period"):
        await mem_client.read_resource(f"memory://{garden}/yesterday")


async def test_prompts_carry_the_period_material(mem_client: Client, garden: str) -> None:
    review = await mem_client.get_prompt("daily-review", {"day": "2026-11-20"})
    text = review.messages[0].content
    assert isinstance(text, TextContent) and '"Garden"' in text.text and "Day 4" in text.text
    period = await mem_client.get_prompt("summarize-period", {"thread_id": garden, "period": "2026-11-20"})
    body = period.messages[0].content
    assert isinstance(body, TextContent) and "At most 500 tokens" in body.text and "Day 4" in body.text
    with pytest.raises(MCPError, match="pass a day like"):
        await mem_client.get_prompt("daily-review", {"day": "2026-11"})


def test_compact_command_line(tmp_path: Path) -> None:
    env = {"MAINLOOP_CONFIG": str(tmp_path / "absent.toml"), "PATH": str(VENV_BIN)}
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    done = subprocess.run(
        [str(VENV_BIN / "mainloop"), "compact", "--store", store], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"threads": 1, "summaries_built": 0, "sync_messages_posted": 0, "failed": []}
    missing = subprocess.run(
        [str(VENV_BIN / "mainloop"), "compact", "--store", store, "--thread", "thr_nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "thr_nope" in missing.stderr


async def test_daily_review_defaults_to_today_so_far_and_takes_plain_words(mem_client: Client, garden: str) -> None:
    async def review(**args: str) -> str:
        text = (await mem_client.get_prompt("daily-review", args)).messages[0].content
        assert isinstance(text, TextContent)
        return text.text

    today = await review()
    assert "Daily review for 2026-11-24" in today and "Day 0:" in today and "Day 1:" not in today
    yesterday = await review(day=" Yesterday ")
    assert "Daily review for 2026-11-23" in yesterday and "Day 1:" in yesterday
    assert "Daily review for 2026-11-24" in await review(day="TODAY")
