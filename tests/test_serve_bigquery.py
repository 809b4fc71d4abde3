"""A real `mainloop serve` process on the BigQuery store (emulator): tools over Streamable HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from mcp import Client

from tests.bq_emulator import Emulator
from tests.conftest import start_hub, stop_hub

pytestmark = pytest.mark.anyio


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return cast(dict[str, Any], result.structured_content)


async def test_hub_serves_threads_from_bigquery(tmp_path: Path) -> None:
    url = Emulator.shared().url()
    hub = start_hub(tmp_path, env={"MAINLOOP_STORE": url})
    try:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{hub.base}/healthz", timeout=10)).json()["ok"] is True
        async with Client(hub.mcp_url, read_timeout_seconds=30) as client:
            project = await call(client, "create_thread", title="Cluster", thread_type="project")
            posted = await call(
                client, "post_message", thread_id=project["id"], content="on BigQuery", idempotency_key="k"
            )
            again = await call(
                client, "post_message", thread_id=project["id"], content="on BigQuery", idempotency_key="k"
            )
            assert again["id"] == posted["id"]
            page = await call(client, "read_messages", thread_id=project["id"])
            assert [m["content"] for m in page["messages"]] == ["on BigQuery"]
            bad = await client.call_tool("read_messages", {"thread_id": "thr_nope"})
            assert bad.is_error
            # the memory tools need the SummaryStore and SearchIndex, which BigQuery keeps too
            context = await call(client, "get_context", thread_id=project["id"], token_budget=1000)
            assert [i["content"] for i in context["items"]] == ["on BigQuery"]
            found = await call(client, "search", query="bigquery")
            assert [(m["kind"], m["snippet"]) for m in found["matches"]] == [("message", "on [BigQuery]")]
    finally:
        stop_hub(hub)
    restarted = start_hub(tmp_path, env={"MAINLOOP_STORE": url})  # same dataset: the data is still there
    try:
        async with Client(restarted.mcp_url, read_timeout_seconds=30) as client:
            page = await call(client, "read_messages", thread_id=project["id"])
            assert [m["id"] for m in page["messages"]] == [posted["id"]]
    finally:
        stop_hub(restarted)
