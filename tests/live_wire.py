"""A raw 2026-07-28 `subscriptions/listen` reader over HTTP, as the phone page speaks it (with resume by
sequence number, which the `mcp` client does not expose). Used by tests and bench/live_bench.py."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import httpx

PROTOCOL = "2026-07-28"
SEQ, SINCE, RESYNC = "io.mainloop/seq", "io.mainloop/since", "io.mainloop/resync"


@dataclass
class Frame:
    method: str
    uri: str | None
    meta: dict[str, Any]

    @property
    def seq(self) -> int | None:
        value = self.meta.get(SEQ)
        return int(value) if value is not None else None


def listen_body(uris: list[str], since: int | None, list_changed: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "live-wire", "version": "0"},
    }
    if since is not None:
        meta[SINCE] = since
    notifications: dict[str, Any] = {"resourceSubscriptions": uris}
    if list_changed:
        notifications["resourcesListChanged"] = True
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "subscriptions/listen",
        "params": {"notifications": notifications, "_meta": meta},
    }


async def listen(
    http: httpx.AsyncClient, url: str, uris: list[str], since: int | None = None, list_changed: bool = False
) -> AsyncGenerator[Frame]:
    """Every frame of one listen stream (the acknowledgement first) until the stream ends."""
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": PROTOCOL,
        "Mcp-Method": "subscriptions/listen",
    }
    body = listen_body(uris, since, list_changed)
    async with http.stream("POST", url, json=body, headers=headers, timeout=None) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if "method" not in message:
                return  # the result: the stream ended gracefully
            params = message.get("params") or {}
            yield Frame(message["method"], params.get("uri"), params.get("_meta") or {})
