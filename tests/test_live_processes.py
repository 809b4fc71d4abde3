"""Live across processes on one SQLite file, with the real `mcp` client in both eras, over stdio and HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import VENV_BIN, ServedHub, sqlite_url
from tests.live_wire import RESYNC, listen

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]


def stdio_params(tmp_path: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=str(VENV_BIN / "mainloop"),
        args=["stdio"],
        env={**os.environ, "MAINLOOP_STORE": sqlite_url(tmp_path), "MAINLOOP_CONFIG": str(tmp_path / "absent.toml")},
    )


class Heard:
    """Handshake-era notifications a client received, with a wait for the next matching one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = anyio.Event()
        self.client: Client

    async def __call__(self, message: Any) -> None:
        root = getattr(message, "root", message)
        if (method := getattr(root, "method", None)) is not None:
            self.events.append((method, getattr(root, "params", None)))
            self._changed.set()
            self._changed = anyio.Event()

    async def wait_for(self, method: str, uri: str | None = None) -> Any:
        with anyio.fail_after(5):
            while True:
                for m, params in self.events:
                    if m == method and (uri is None or getattr(params, "uri", None) == uri):
                        return params
                await self._changed.wait()


@asynccontextmanager
async def legacy_listener(target: Any, uri: str) -> AsyncIterator[Heard]:
    heard = Heard()
    async with Client(target, mode="legacy", message_handler=heard) as client:
        await client.subscribe_resource(uri)
        heard.client = client
        yield heard


async def main_id(client: Client) -> str:
    return str((await client.call_tool("get_thread", {})).structured_content["id"])


async def test_two_stdio_processes_hear_each_other_in_both_eras(tmp_path: Path) -> None:
    """Process A speaks 2026-07-28 (listen), process B the 2025-11-25 handshake (subscribe): each hears the other."""
    async with Client(stdio_params(tmp_path)) as modern:
        main = await main_id(modern)
        uri = f"thread://{main}"
        async with legacy_listener(stdio_params(tmp_path), uri) as heard:
            async with modern.listen(resource_subscriptions=[uri]) as stream:
                await modern.call_tool("post_message", {"thread_id": main, "content": "from process A"})
                updated = await heard.wait_for("notifications/resources/updated", uri)
                assert updated.meta["io.mainloop/seq"] > 0
                with anyio.fail_after(5):
                    assert getattr(await anext(aiter(stream)), "uri", None) == uri  # A's own write
                await heard.client.call_tool("post_message", {"thread_id": main, "content": "from process B"})
                with anyio.fail_after(5):
                    assert getattr(await anext(aiter(stream)), "uri", None) == uri
                await modern.call_tool("create_thread", {"title": "Seen elsewhere", "thread_type": "project"})
                await heard.wait_for("notifications/resources/list_changed")


async def test_served_hub_hears_a_stdio_process_over_http_in_both_eras(served: ServedHub, tmp_path: Path) -> None:
    async with Client(stdio_params(tmp_path)) as writer:
        main = await main_id(writer)
        uri = f"thread://{main}"
        async with legacy_listener(served.mcp_url, uri) as heard, Client(served.mcp_url) as modern:
            async with modern.listen(resource_subscriptions=[uri]) as stream:
                await writer.call_tool("post_message", {"thread_id": main, "content": "from stdio"})
                await heard.wait_for("notifications/resources/updated", uri)
                with anyio.fail_after(5):
                    assert getattr(await anext(aiter(stream)), "uri", None) == uri


async def test_page_wire_resumes_by_sequence_number_exactly_once_or_resyncs(served: ServedHub) -> None:
    async with httpx.AsyncClient() as http, Client(served.mcp_url) as writer:
        main = await main_id(writer)
        uri = f"thread://{main}"
        frames = listen(http, served.mcp_url, [uri])
        ack = await anext(frames)
        await frames.aclose()  # the connection drops
        assert ack.method == "notifications/subscriptions/acknowledged" and ack.seq is not None
        for i in range(3):
            await writer.call_tool("post_message", {"thread_id": main, "content": f"missed {i}"})
        frames = listen(http, served.mcp_url, [uri], since=ack.seq)
        with anyio.fail_after(10):
            assert (await anext(frames)).method == "notifications/subscriptions/acknowledged"
            missed = [await anext(frames) for _ in range(3)]
            await writer.call_tool("post_message", {"thread_id": main, "content": "live"})
            live = await anext(frames)
        await frames.aclose()
        seqs = [f.seq for f in [*missed, live]]
        assert [f.uri for f in [*missed, live]] == [uri] * 4
        assert seqs == sorted({s for s in seqs if s is not None}) and all(s is not None and s > ack.seq for s in seqs)
        frames = listen(http, served.mcp_url, [uri], since=live.seq + 1000)  # type: ignore[operator]
        with anyio.fail_after(10):
            await anext(frames)
            resync = await anext(frames)
        await frames.aclose()
        assert resync.method == "notifications/resources/list_changed" and resync.meta[RESYNC] is True
