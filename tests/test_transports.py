"""The hub as a user runs it: `mainloop serve` over Streamable HTTP and `mainloop stdio`, real processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import TOKEN, VENV_BIN, ServedHub, free_port, sqlite_url

pytestmark = pytest.mark.anyio


async def test_http_round_trip_without_token_on_loopback(served: ServedHub) -> None:
    async with Client(served.mcp_url) as client:
        project = await client.call_tool("create_thread", {"title": "Over HTTP", "thread_type": "project"})
        assert not project.is_error
        tid = project.structured_content["id"]
        await client.call_tool("post_message", {"thread_id": tid, "content": "hello over http"})
        page = await client.call_tool("read_messages", {"thread_id": tid})
        assert [m["content"] for m in page.structured_content["messages"]] == ["hello over http"]


def test_healthz(served: ServedHub) -> None:
    response = httpx.get(f"{served.base}/healthz")
    assert response.status_code == 200
    assert response.json()["ok"] is True


async def test_http_with_token(served_with_token: ServedHub) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(served_with_token.mcp_url, http_client=http)) as client,
    ):
        result = await client.call_tool("get_thread", {})
        assert result.structured_content["thread_type"] == "main"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "missing bearer token"), ({"Authorization": "Bearer wrong"}, "wrong bearer token")],
)
def test_http_refuses_missing_or_wrong_token(
    served_with_token: ServedHub, headers: dict[str, str], reason: str
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = httpx.post(served_with_token.mcp_url, json=body, headers=headers)
    assert response.status_code == 401
    assert reason in response.json()["message"]
    assert TOKEN not in served_with_token.log.read_text()


def test_token_in_query_string_is_refused(served_with_token: ServedHub) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = httpx.post(f"{served_with_token.mcp_url}?token={TOKEN}", json=body)
    assert response.status_code == 401


def test_foreign_host_header_is_refused(served: ServedHub) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Host": "evil.example", "Accept": "application/json, text/event-stream"}
    response = httpx.post(served.mcp_url, json=body, headers=headers)
    assert response.status_code == 421


def test_foreign_origin_is_refused(served: ServedHub) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Origin": "https://evil.example", "Accept": "application/json, text/event-stream"}
    response = httpx.post(served.mcp_url, json=body, headers=headers)
    assert response.status_code == 403


def test_serve_refuses_non_loopback_without_token(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MAINLOOP_STORE": sqlite_url(tmp_path),
        "MAINLOOP_HOST": "0.0.0.0",
        "MAINLOOP_PORT": str(free_port()),
        "MAINLOOP_CONFIG": str(tmp_path / "absent.toml"),
    }
    env.pop("MAINLOOP_TOKEN", None)
    done = subprocess.run([str(VENV_BIN / "mainloop"), "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "without a bearer token" in done.stderr


async def test_stdio_round_trip(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=str(VENV_BIN / "mainloop"),
        args=["stdio"],
        env={**os.environ, "MAINLOOP_STORE": sqlite_url(tmp_path), "MAINLOOP_CONFIG": str(tmp_path / "absent.toml")},
    )
    async with Client(params) as client:
        project = await client.call_tool("create_thread", {"title": "Over stdio", "thread_type": "project"})
        assert project.structured_content["title"] == "Over stdio"
        threads = await client.call_tool("list_threads", {"thread_type": "project"})
        assert [t["title"] for t in threads.structured_content["threads"]] == ["Over stdio"]
    # The same file, read again by a fresh process: the data was stored, not kept in memory.
    async with Client(params) as client:
        threads = await client.call_tool("list_threads", {"thread_type": "project"})
        assert [t["title"] for t in threads.structured_content["threads"]] == ["Over stdio"]
