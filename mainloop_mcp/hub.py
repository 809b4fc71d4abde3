"""The Hub: the services one running mainloop shares, built once and handed to every handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import anyio
from mcp.server.mcpserver import Context

from mainloop_mcp.agents.service import AgentService, RunsStore
from mainloop_mcp.config import Settings
from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import Clock, utc_now
from mainloop_mcp.store import Store, open_store
from mainloop_mcp.store.base import AgentRunStore


@dataclass
class Hub:
    settings: Settings
    store: Store
    clock: Clock = utc_now
    agents_service: AgentService | None = None

    @property
    def agents(self) -> AgentService:
        if self.agents_service is None:
            raise InvalidInput("sub-agents need a store that keeps agent runs (sqlite:///...); this store does not")
        return self.agents_service


@asynccontextmanager
async def open_hub(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Hub]:
    """The store, plus a task group as long-lived as the Hub for background agent runs."""
    store = await open_store(settings.store, clock=clock)
    try:
        async with anyio.create_task_group() as tasks:
            agents = None
            if isinstance(store, AgentRunStore):
                agents = AgentService(settings, cast(RunsStore, store), tasks)
                await agents.start()
            try:
                yield Hub(settings=settings, store=store, clock=clock, agents_service=agents)
            finally:
                if agents is not None:
                    await agents.aclose()
                tasks.cancel_scope.cancel()
    finally:
        await store.close()


def hub_of(ctx: Context[Any, Any]) -> Hub:
    """The Hub behind a request (the MCP server's lifespan yields it)."""
    return cast(Hub, ctx.request_context.lifespan_context)
