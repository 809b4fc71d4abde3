"""Plugs the change feed into an MCPServer: the resumable listen handler (2026-07-28) and the
handshake-era subscribe/unsubscribe/setLevel handlers, list_changed advertised, plus their fan-out task."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
from mcp.server import MCPServer, NotificationOptions, Server
from mcp_types import (
    SetLevelRequestParams,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)

from mainloop_mcp.changes.feed import ChangeFeed
from mainloop_mcp.live.legacy import LegacySessions
from mainloop_mcp.live.listen import ResumableListen


def lowlevel(server: MCPServer[Any]) -> Server[Any]:
    """MCPServer's low-level server: where the handlers MCPServer lacks are registered."""
    return server._lowlevel_server  # private: no public accessor in mcp 2.3


def attach_live(server: MCPServer[Any], feed: ChangeFeed) -> LegacySessions:
    """Serve change notifications from `feed` on `server`; run `live_fan_out` while it serves."""
    low = lowlevel(server)
    legacy = LegacySessions()
    low.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, ResumableListen(feed))
    low.add_request_handler("resources/subscribe", SubscribeRequestParams, legacy.subscribe)
    low.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, legacy.unsubscribe)
    low.add_request_handler("logging/setLevel", SetLevelRequestParams, legacy.set_level)
    low.middleware.append(legacy.middleware)
    # Handshake-era capabilities come from these options: announce resources/list_changed.
    low.create_initialization_options = partial(  # type: ignore[method-assign]
        low.create_initialization_options, NotificationOptions(resources_changed=True)
    )
    return legacy


@asynccontextmanager
async def live_fan_out(legacy: LegacySessions, feed: ChangeFeed) -> AsyncIterator[None]:
    """The handshake-era fan-out task, for as long as the server runs."""
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(legacy.fan_out, feed)
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()
