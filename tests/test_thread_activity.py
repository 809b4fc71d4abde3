"""threads://activity: counts, newest message and preview per active thread (the phone's triage)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

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
