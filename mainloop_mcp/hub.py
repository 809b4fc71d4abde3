"""The Hub: the services one running mainloop shares, built once and handed to every handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from mcp.server.mcpserver import Context

from mainloop_mcp.config import Settings
from mainloop_mcp.memory.summariser import ExtractiveSummariser, Summariser
from mainloop_mcp.model import Clock, utc_now
from mainloop_mcp.store import Store, open_store


@dataclass
class Hub:
    settings: Settings
    store: Store
    clock: Clock = utc_now
    summariser: Summariser = field(default_factory=ExtractiveSummariser)


@asynccontextmanager
async def open_hub(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Hub]:
    store = await open_store(settings.store, clock=clock)
    try:
        yield Hub(settings=settings, store=store, clock=clock)
    finally:
        await store.close()


def hub_of(ctx: Context[Any, Any]) -> Hub:
    """The Hub behind a request (the MCP server's lifespan yields it)."""
    return cast(Hub, ctx.request_context.lifespan_context)
