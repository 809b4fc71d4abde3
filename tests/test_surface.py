"""What an LLM reads from the hub, pinned: tool list size and annotations, compact results, true budgets,
forgiving arguments, authors, and the batch / update / correct / redact tools. One real SQLite hub."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, Implementation, PromptReference, TextContent

from mainloop_mcp.config import Settings
from mainloop_mcp.hub import Hub, open_hub
from mainloop_mcp.memory.tokens import estimate_tokens
from mainloop_mcp.model import NewMessage, NewThread, Role, ThreadType
from mainloop_mcp.server import create_server
from tests.browser import mcp_client
from tests.conftest import TOKEN, FakeClock, ServedHub

pytestmark = pytest.mark.anyio
WORDS = "pump seal valve order seeds compost bed tomato water timer hose soil rain fence budget quote".split()


@pytest.fixture
async def timed_hub(settings: Settings, clock: FakeClock) -> AsyncIterator[Hub]:
    async with open_hub(settings, clock=clock) as h:
        yield h


@pytest.fixture
async def llm(timed_hub: Hub) -> AsyncIterator[Client]:
    """A client that names itself, as Claude Code does."""
    async with Client(create_server(timed_hub), client_info=Implementation(name="claude-code", version="2")) as c:
        yield c


def text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


async def call(client: Client, tool: str, **args: Any) -> CallToolResult:
    result = await client.call_tool(tool, args)
    assert not result.is_error, text(result)
    return result


async def data(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await call(client, tool, **args)
    assert result.structured_content is not None
    return dict(result.structured_content)


async def refused(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error
    message = text(result)
    assert "\n" not in message and "pydantic" not in message, message
    return message


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40))).capitalize() + "."


async def big_thread(hub: Hub, clock: FakeClock, count: int) -> str:
    rng = random.Random(13)
    thread = await hub.store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Garden irrigation"))
    await hub.store.append_messages(
        [
            NewMessage(thread_id=thread.id, content=sentence(rng), created_at=clock.now - timedelta(minutes=i * 86))
            for i in range(count)
        ]
    )
    return thread.id


async def test_tool_list_is_small_titled_and_annotated(llm: Client) -> None:
    listed = await llm.list_tools()
    assert len(listed.model_dump_json(by_alias=True, exclude_none=True).encode()) <= 15 * 1024
    hints = {}
    for tool in listed.tools:
        assert tool.title and tool.description and tool.output_schema, tool.name
        assert tool.annotations is not None and tool.annotations.open_world_hint is not None, tool.name
        a = tool.annotations
        if not a.read_only_hint:
            assert a.destructive_hint is not None and a.idempotent_hint is not None, tool.name
        hints[tool.name] = (a.read_only_hint, a.destructive_hint)
    assert hints["read_messages"] == (True, None) and hints["redact_message"] == (False, True)
    create = next(t for t in listed.tools if t.name == "create_thread")
    assert create.input_schema["properties"]["thread_type"]["enum"] == ["project", "task"]
    post = next(t for t in listed.tools if t.name == "post_message")
    assert post.input_schema["properties"]["role"]["enum"] == ["user", "assistant", "agent"]


@pytest.mark.parametrize("budget", [2000, 8000])
async def test_get_context_answer_fits_its_budget(llm: Client, timed_hub: Hub, clock: FakeClock, budget: int) -> None:
    thread = await big_thread(timed_hub, clock, 1000)
    result = await call(llm, "get_context", thread_id=thread, token_budget=budget)
    structured = json.dumps(result.structured_content, separators=(",", ":"))
    assert estimate_tokens(text(result)) <= budget and estimate_tokens(structured) <= budget
    assert result.structured_content is not None and "read_messages with until=" in result.structured_content["cut"]
    assert "older history left out" in text(result)


async def test_read_messages_text_is_compact(llm: Client, timed_hub: Hub, clock: FakeClock) -> None:
    thread = await big_thread(timed_hub, clock, 60)
    result = await call(llm, "read_messages", thread_id=thread, limit=50)
    page = await timed_hub.store.read_messages(thread, limit=50)
    raw = sum(len(m.content.encode()) for m in page.messages)
    assert len(text(result).encode()) <= 1.3 * raw
    first = result.structured_content["messages"][0]
    assert "idempotency_key" not in first and "metadata" not in first  # no null or empty keys
    assert len(first["created_at"]) == len("2026-11-24T12:00:00Z")  # to the second
    assert "more: cursor=" in text(result)


async def test_list_threads_finds_by_title_and_sorts_by_activity(llm: Client, timed_hub: Hub, clock: FakeClock) -> None:
    store = timed_hub.store
    ids = [
        (await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title=f"Project {i}"))).id
        for i in range(100)
    ]
    clock.advance(minutes=5)
    await store.post_message(NewMessage(thread_id=ids[3], content="busy"))
    result = await call(llm, "list_threads", limit=100)
    assert len(text(result).encode()) <= 12 * 1024
    assert result.structured_content["threads"][0]["id"] == ids[3]
    found = await data(llm, "list_threads", title="project 4")
    assert {t["title"] for t in found["threads"]} == {"Project 4", *(f"Project {i}" for i in range(40, 50))}


async def test_threads_by_title_or_main_and_ambiguity(llm: Client) -> None:
    main = await data(llm, "get_thread", thread_id="MAIN")
    project = await data(llm, "create_thread", title="Kitchen renovation", thread_type="Project")
    await data(llm, "create_thread", title="Kitchen garden", thread_type="project")
    task = await data(llm, "create_thread", title="Quotes", thread_type="TASK", parent_id="kitchen renovation")
    assert task["parent_id"] == project["id"] and project["parent_id"] == main["id"]
    assert (await data(llm, "get_thread", thread_id="Kitchen Renovation"))["id"] == project["id"]
    message = await refused(llm, "get_thread", thread_id="kitchen")
    assert "2 threads match 'kitchen'" in message and project["id"] in message
    assert "'project' or 'task'" in await refused(llm, "create_thread", title="x", thread_type="main")
    assert "'user', 'assistant' or 'agent'" in await refused(
        llm, "post_message", thread_id="main", content="x", role="system"
    )
    assert "limit" in await refused(llm, "read_messages", thread_id="main", limit="many")


async def test_times_in_the_forms_people_type(llm: Client, timed_hub: Hub, clock: FakeClock) -> None:
    store = timed_hub.store
    main = await store.main_thread()
    for days in (0, 1, 3, 10):
        await store.post_message(
            NewMessage(thread_id=main.id, content=f"{days} days ago", created_at=clock.now - timedelta(days=days))
        )

    async def contents(**args: Any) -> list[str]:
        page = await data(llm, "read_messages", thread_id="main", order="OLDEST", **args)
        return [m["content"] for m in page["messages"]]

    assert await contents(since="yesterday") == ["1 days ago", "0 days ago"]
    assert await contents(since="7d") == ["3 days ago", "1 days ago", "0 days ago"]
    assert await contents(since="2026-11-21", until="today") == ["3 days ago", "1 days ago"]
    assert await contents(since="2026-11-14T00:00:00", until="2026-11-15T00:00:00+00:00") == ["10 days ago"]
    assert "is not a time" in await refused(llm, "read_messages", thread_id="main", since="last tuesday")


async def test_periods_in_the_forms_people_type(llm: Client, timed_hub: Hub, clock: FakeClock) -> None:
    main = await timed_hub.store.main_thread()
    await timed_hub.store.post_message(
        NewMessage(thread_id=main.id, content="a day ago", created_at=clock.now - timedelta(days=1))
    )
    named = {"Yesterday": "2026-11-23", "today": "2026-11-24", "this  week": "2026-W48", "last week": "2026-W47"}
    for said, label in {**named, "this month": "2026-11", "last month": "2026-10"}.items():
        assert (await data(llm, "zoom", thread_id="main", period=said))["period"] == label
    zoomed = await data(llm, "zoom", thread_id="main", period="yesterday")
    assert [i["content"] for i in zoomed["items"]] == ["a day ago"]
    assert "is not a calendar period" in await refused(llm, "zoom", thread_id="main", period="last tuesday")


async def test_author_from_client_info_and_roles(llm: Client, timed_hub: Hub) -> None:
    posted = await data(llm, "post_message", thread_id="main", content="We chose the drip line.")
    assert posted["role"] == "assistant" and posted["metadata"] == {"author": "claude-code"}
    said = await data(llm, "post_message", thread_id="main", content="I want drip irrigation", role="User")
    assert said["role"] == "user"
    assert "assistant/claude-code: We chose the drip line." in text(await call(llm, "read_messages", thread_id="main"))


async def test_post_messages_is_atomic_and_idempotent_per_item(llm: Client) -> None:
    items = [{"content": "one", "idempotency_key": "k1"}, {"content": "two", "created_at": "2026-11-20T09:00:00Z"}]
    first = await data(llm, "post_messages", thread_id="main", messages=items)
    assert (first["added"], first["already_stored"]) == (2, 0)
    again = await data(llm, "post_messages", thread_id="main", messages=items[:1] + [{"content": "three"}])
    assert (again["added"], again["already_stored"]) == (1, 1)
    assert "messages[1]" in await refused(
        llm, "post_messages", thread_id="main", messages=[{"content": "ok"}, {"content": " "}]
    )
    page = await data(llm, "read_messages", thread_id="main", order="oldest")
    assert [m["content"] for m in page["messages"]] == ["two", "one", "three"]
    assert page["messages"][0]["created_at"] == "2026-11-20T09:00:00Z"


async def test_update_thread_renames_moves_and_unarchives(llm: Client) -> None:
    a = await data(llm, "create_thread", title="Garden", thread_type="project")
    b = await data(llm, "create_thread", title="House", thread_type="project")
    task = await data(llm, "create_thread", title="Seeds", thread_type="task", parent_id="garden")
    moved = await data(llm, "update_thread", thread_id="seeds", parent_id="house", title="Buy seeds")
    assert (moved["parent_id"], moved["title"]) == (b["id"], "Buy seeds")
    assert "only task threads move" in await refused(llm, "update_thread", thread_id=a["id"], parent_id="house")
    await data(llm, "archive_thread", thread_id="garden")
    assert "is archived" in await refused(llm, "update_thread", thread_id=task["id"], parent_id="garden")
    assert (await data(llm, "update_thread", thread_id="garden", status="Active"))["status"] == "active"


async def test_correct_replaces_in_context_and_search_and_keeps_history(llm: Client) -> None:
    wrong = await data(llm, "post_message", thread_id="main", content="We ordered the walnut countertop.")
    fixed = await data(llm, "correct_message", message_id=wrong["id"], content="We ordered the oak countertop.")
    assert fixed["metadata"]["corrects"] == wrong["id"]
    context = text(await call(llm, "get_context", thread_id="main"))
    assert "oak" in context and "walnut" not in context
    assert "no matches" in text(await call(llm, "search", query="walnut"))
    history = text(await call(llm, "read_messages", thread_id="main"))
    assert f"walnut countertop. [superseded by {fixed['id']}]" in history
    assert "already corrected" in await refused(llm, "correct_message", message_id=wrong["id"], content="again")


async def test_redact_removes_the_secret_everywhere(llm: Client, timed_hub: Hub, clock: FakeClock) -> None:
    leaked = await data(llm, "post_message", thread_id="main", content="the key is sk-live-zebra42 oops")
    clock.advance(days=2)
    await data(llm, "compact")  # a day summary now quotes the secret
    gone = await data(llm, "redact_message", message_id=leaked["id"])
    assert "zebra42" not in json.dumps(gone) and gone["metadata"]["redacted"]["by"] == "claude-code"
    assert "no matches" in text(await call(llm, "search", query="zebra42"))
    assert "zebra42" not in text(await call(llm, "get_context", thread_id="main", token_budget=100_000))
    assert "zebra42" not in text(await call(llm, "zoom", thread_id="main", period="2026-11-24"))
    assert (await data(llm, "redact_message", message_id=leaked["id"]))["content"] == gone["content"]  # idempotent
    assert gone["content"].startswith("[redacted by claude-code at ")
    assert Role(gone["role"])


async def test_prompts_take_titles_and_complete_names_and_periods(llm: Client) -> None:
    await data(llm, "create_thread", title="Kitchen renovation", thread_type="project")
    await data(llm, "create_thread", title="Garden", thread_type="project")
    prompt = await llm.get_prompt("resume-thread", {"thread_id": "kitchen RENOVATION"})
    assert 'thread "Kitchen renovation"' in str(prompt.messages[0].content)
    names = await llm.complete(PromptReference(name="resume-thread"), {"name": "thread_id", "value": "kit"})
    assert names.completion.values == ["Kitchen renovation"]
    days = await llm.complete(PromptReference(name="daily-review"), {"name": "day", "value": "2026-11-2"})
    assert days.completion.values[:2] == ["2026-11-24", "2026-11-23"]
    periods = await llm.complete(PromptReference(name="summarize-period"), {"name": "period", "value": "2026-W"})
    assert "2026-W48" in periods.completion.values
    summary = await llm.get_prompt("summarize-period", {"thread_id": "garden", "period": "yesterday"})
    assert "2026-11-23" in str(summary.messages[0].content)


async def test_original_times_are_kept_only_from_trusted_clients(
    served: ServedHub, served_with_token: ServedHub
) -> None:
    item = {"content": "from the old notes", "created_at": "2025-03-01T09:00:00+00:00"}
    async with Client(served.mcp_url) as anyone:  # loopback HTTP without a token: any local page could call
        refused = await anyone.call_tool("post_messages", {"thread_id": "main", "messages": [item]})
        assert refused.is_error and "created_at is kept only from stdio or token-authenticated" in text(refused)
        assert (await data(anyone, "read_messages", thread_id="main"))["messages"] == []  # nothing half-stored
    async with mcp_client(served_with_token.mcp_url, TOKEN) as holder:
        assert (await data(holder, "post_messages", thread_id="main", messages=[item]))["added"] == 1
        [kept] = (await data(holder, "read_messages", thread_id="main"))["messages"]
        assert kept["created_at"].startswith("2025-03-01")
