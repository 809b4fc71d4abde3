"""Every thread tool, resource and prompt through an in-memory MCP client, in both protocol eras."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS

from mainloop_mcp.model import MAX_CONTENT_BYTES

pytestmark = pytest.mark.anyio


async def ok(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return cast(dict[str, Any], result.structured_content)


async def error(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    assert isinstance(text, str)
    return text


async def count_messages(client: Client, thread_id: str) -> int:
    return len((await ok(client, "read_messages", thread_id=thread_id, limit=500))["messages"])


async def test_lists_the_thread_tools(client: Client) -> None:
    names = {t.name for t in (await client.list_tools()).tools}
    assert {
        "create_thread",
        "list_threads",
        "get_thread",
        "post_message",
        "read_messages",
        "archive_thread",
        "update_thread",
    } <= names


async def test_thread_lifecycle(client: Client) -> None:
    main = await ok(client, "get_thread")
    assert main["thread_type"] == "main"
    project = await ok(client, "create_thread", title="Kitchen remodel", thread_type="project")
    assert project["parent_id"] == main["id"]
    task = await ok(client, "create_thread", title="Get quotes", thread_type="task", parent_id=project["id"])
    assert task["parent_id"] == project["id"]

    children = await ok(client, "list_threads", parent_id=project["id"])
    assert [t["id"] for t in children["threads"]] == [task["id"]]

    updated = await ok(client, "update_thread", thread_id=project["id"], thread_context="Budget 20k")
    assert updated["thread_context"] == "Budget 20k"
    assert (await ok(client, "get_thread", thread_id=project["id"]))["thread_context"] == "Budget 20k"

    archived = await ok(client, "archive_thread", thread_id=task["id"])
    assert archived["status"] == "archived"
    active_ids = [t["id"] for t in (await ok(client, "list_threads"))["threads"]]
    assert task["id"] not in active_ids and project["id"] in active_ids
    both = [t["id"] for t in (await ok(client, "list_threads", status=None))["threads"]]
    assert task["id"] in both


async def test_post_and_read_messages_with_pagination(client: Client) -> None:
    tid = (await ok(client, "get_thread"))["id"]
    for i in range(5):
        await ok(client, "post_message", thread_id=tid, content=f"note {i}", role="user")
    first = await ok(client, "read_messages", thread_id=tid, limit=3)
    assert [m["content"] for m in first["messages"]] == ["note 4", "note 3", "note 2"]
    rest = await ok(client, "read_messages", thread_id=tid, limit=3, cursor=first["next_cursor"])
    assert [m["content"] for m in rest["messages"]] == ["note 1", "note 0"]
    assert "next_cursor" not in rest  # no null keys
    oldest = await ok(client, "read_messages", thread_id=tid, order="oldest", limit=1)
    assert oldest["messages"][0]["content"] == "note 0"


async def test_post_message_is_idempotent_on_key(client: Client) -> None:
    tid = (await ok(client, "get_thread"))["id"]
    first = await ok(client, "post_message", thread_id=tid, content="buy milk", idempotency_key="phone-1")
    again = await ok(client, "post_message", thread_id=tid, content="buy milk", idempotency_key="phone-1")
    assert again["id"] == first["id"]
    assert await count_messages(client, tid) == 1


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("get_thread", {"thread_id": "thr_missing"}, "no thread with id 'thr_missing'"),
        ("post_message", {"thread_id": "thr_missing", "content": "x"}, "no thread with id 'thr_missing'"),
        ("read_messages", {"thread_id": "thr_missing"}, "no thread with id 'thr_missing'"),
        ("archive_thread", {"thread_id": "thr_missing"}, "no thread with id 'thr_missing'"),
        ("create_thread", {"title": "t", "thread_type": "task"}, "task thread needs a parent_id"),
        ("create_thread", {"title": "t", "thread_type": "main"}, "'project' or 'task'"),
        ("create_thread", {"title": "  ", "thread_type": "project"}, "title must not be empty"),
        ("create_thread", {"title": "t", "thread_type": "epic"}, "'project' or 'task'"),
        ("list_threads", {"limit": 0}, "limit must be between 1 and 500"),
        ("list_threads", {"cursor": "not-a-cursor"}, "is not a threads:activity cursor"),
        ("list_threads", {"status": "deleted"}, "'active' or 'archived'"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(client: Client, tool: str, args: dict[str, Any], expected: str) -> None:
    before = len((await ok(client, "list_threads", status=None))["threads"])
    assert expected in await error(client, tool, **args)
    assert len((await ok(client, "list_threads", status=None))["threads"]) == before


async def test_bad_messages_are_refused_and_nothing_is_stored(client: Client) -> None:
    main = await ok(client, "get_thread")
    tid = main["id"]
    assert "content must not be empty" in await error(client, "post_message", thread_id=tid, content="   ")
    too_big = "x" * (MAX_CONTENT_BYTES + 1)
    assert f"the limit is {MAX_CONTENT_BYTES:,} bytes" in await error(
        client, "post_message", thread_id=tid, content=too_big
    )
    assert "'user', 'assistant'" in await error(client, "post_message", thread_id=tid, content="hi", role="robot")
    assert "task thread" in await error(client, "create_thread", title="t", thread_type="task", parent_id=None)
    assert await count_messages(client, tid) == 0
    assert "main thread can't be archived" in await error(client, "archive_thread", thread_id=tid)


async def test_reused_idempotency_key_with_other_content_is_refused(client: Client) -> None:
    tid = (await ok(client, "get_thread"))["id"]
    await ok(client, "post_message", thread_id=tid, content="a", idempotency_key="k")
    assert "already used" in await error(client, "post_message", thread_id=tid, content="b", idempotency_key="k")
    assert await count_messages(client, tid) == 1


async def test_read_messages_rejects_bad_times_and_empty_ranges(client: Client) -> None:
    tid = (await ok(client, "get_thread"))["id"]
    assert "is not a time; pass 2026-11-27, today" in await error(client, "read_messages", thread_id=tid, since="soon")
    message = await error(
        client, "read_messages", thread_id=tid, since="2026-11-24T10:00:00Z", until="2026-11-24T09:00:00Z"
    )
    assert "must be before" in message


async def test_thread_resource_has_thread_and_recent_messages(client: Client) -> None:
    project = await ok(client, "create_thread", title="Trip", thread_type="project")
    await ok(client, "post_message", thread_id=project["id"], content="book flights")
    await ok(client, "post_message", thread_id=project["id"], content="book hotel")
    result = await client.read_resource(f"thread://{project['id']}")
    body = json.loads(result.contents[0].text)  # type: ignore[union-attr]
    assert body["thread"]["title"] == "Trip"
    assert [m["content"] for m in body["recent_messages"]] == ["book flights", "book hotel"]


async def test_active_threads_resource_lists_the_tree(client: Client) -> None:
    project = await ok(client, "create_thread", title="Trip", thread_type="project")
    task = await ok(client, "create_thread", title="Visa", thread_type="task", parent_id=project["id"])
    body = json.loads((await client.read_resource("threads://active")).contents[0].text)  # type: ignore[union-attr]
    by_id = {t["id"]: t for t in body["threads"]}
    assert by_id[task["id"]]["parent_id"] == project["id"]
    assert sum(t["thread_type"] == "main" for t in body["threads"]) == 1


async def test_unknown_thread_resource_is_invalid_params(client: Client) -> None:
    with pytest.raises(MCPError) as info:
        await client.read_resource("thread://thr_missing")
    assert info.value.error.code == INVALID_PARAMS
    assert "thr_missing" in info.value.error.message


async def test_resume_thread_prompt_carries_context_and_messages(client: Client) -> None:
    project = await ok(client, "create_thread", title="Garden", thread_type="project", thread_context="Raised beds")
    await ok(client, "post_message", thread_id=project["id"], content="order soil")
    prompt = await client.get_prompt("resume-thread", {"thread_id": project["id"]})
    text = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "Garden" in text and "Raised beds" in text and "order soil" in text and project["id"] in text


async def test_resume_thread_prompt_for_unknown_thread_is_invalid_params(client: Client) -> None:
    with pytest.raises(MCPError) as info:
        await client.get_prompt("resume-thread", {"thread_id": "thr_missing"})
    assert info.value.error.code == INVALID_PARAMS
