"""Inputs the fuzzer (tests/test_fuzz.py) once crashed on, pinned as plain tests: each is now a
short, clear tool error, and nothing is written."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from mcp import Client

from mainloop_mcp.model import MAX_CONTENT_BYTES

pytestmark = pytest.mark.anyio


def forged_cursor(kind: str, position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": kind, "p": position}).encode()).decode().rstrip("=")


async def refusal(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert "Traceback" not in text and len(text) <= 1100, text[:300]
    return text


async def test_unpaired_surrogate_is_a_clear_error(client: Client) -> None:
    assert "unpaired surrogate" in await refusal(client, "get_thread", thread_id="\ud800")
    main = (await client.call_tool("get_thread", {})).structured_content
    assert main is not None
    text = await refusal(client, "post_message", thread_id=main["id"], content="hi \udfff")
    assert "'\\udfff'" in text and "surrogate" in text
    page = (await client.call_tool("read_messages", {"thread_id": main["id"]})).structured_content
    assert page is not None and page["messages"] == []


async def test_huge_bad_value_is_quoted_briefly(client: Client) -> None:
    text = await refusal(client, "get_thread", thread_id="x" * (MAX_CONTENT_BYTES + 1))
    assert "chars cut" in text and text.endswith("list_threads shows the ids that exist")


@pytest.mark.parametrize("position", [[1], ["2026", 3], [1.5, 2], [True, 2], [1, 2, 3], {"a": 1}, [None, None]])
async def test_forged_cursor_is_refused(client: Client, position: Any) -> None:
    main = (await client.call_tool("get_thread", {})).structured_content
    assert main is not None
    for kind, tool, args in (
        ("messages:newest", "read_messages", {"thread_id": main["id"]}),
        ("threads:activity", "list_threads", {}),
    ):
        text = await refusal(client, tool, **args, cursor=forged_cursor(kind, position))
        assert "cursor" in text and "next_cursor" in text


async def test_empty_parent_id_is_not_found(client: Client) -> None:
    assert "no thread with id ''" in await refusal(client, "create_thread", title="t", thread_type="task", parent_id="")


async def test_oversized_thread_context_update_says_the_limit(client: Client) -> None:
    main = (await client.call_tool("get_thread", {})).structured_content
    assert main is not None
    text = await refusal(client, "update_thread", thread_id=main["id"], thread_context="c" * 300_000)
    assert "the limit is 262,144 bytes" in text
