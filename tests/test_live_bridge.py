"""`mainloop stdio --hub URL`: a stdio client served by a running `mainloop serve`, changes included."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import TOKEN, VENV_BIN, ServedHub
from tests.test_live_processes import legacy_listener, main_id

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]


async def test_stdio_bridge_forwards_calls_and_changes_to_a_served_hub(
    served_with_token: ServedHub, tmp_path: Path
) -> None:
    bridge = StdioServerParameters(
        command=str(VENV_BIN / "mainloop"),
        args=["stdio", "--hub", served_with_token.mcp_url],
        # No store of its own: a store URL that can't be opened proves the bridge never tries.
        env={
            **os.environ,
            "MAINLOOP_TOKEN": TOKEN,
            "MAINLOOP_STORE": "sqlite:////nonexistent/dir/x.db",
            "MAINLOOP_CONFIG": str(tmp_path / "absent.toml"),
        },
    )
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        Client(streamable_http_client(served_with_token.mcp_url, http_client=http)) as direct,
    ):
        main = await main_id(direct)
        uri = f"thread://{main}"
        async with legacy_listener(bridge, uri) as heard:
            bridged = heard.client
            assert {t.name for t in (await bridged.list_tools()).tools} == {
                t.name for t in (await direct.list_tools()).tools
            }
            made = await bridged.call_tool("post_message", {"thread_id": main, "content": "through the bridge"})
            assert not made.is_error
            page = await direct.call_tool("read_messages", {"thread_id": main})
            assert page.structured_content["messages"][0]["content"] == "through the bridge"
            await heard.wait_for("notifications/resources/updated", uri)  # its own post, via the hub
            heard.events.clear()
            async with Client(bridge) as modern, modern.listen(resource_subscriptions=[uri]) as stream:
                await direct.call_tool("post_message", {"thread_id": main, "content": "from the phone"})
                await heard.wait_for("notifications/resources/updated", uri)
                with anyio.fail_after(10):
                    assert getattr(await anext(aiter(stream)), "uri", None) == uri
