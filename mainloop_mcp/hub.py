"""The Hub: the services one running mainloop shares, built once and handed to every handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

import anyio
from mcp.server.mcpserver import Context, Resolve

from mainloop_mcp.agents.chat_history import HistorySource
from mainloop_mcp.agents.service import AgentService
from mainloop_mcp.changes.feed import ChangeFeed
from mainloop_mcp.config import Settings
from mainloop_mcp.memory.assembly import assemble_context, render_context
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.memory.summariser import ExtractiveSummariser, LlmSummariser, Summariser
from mainloop_mcp.model import Clock, Thread, utc_now
from mainloop_mcp.search.semantic import SemanticIndex, open_semantic
from mainloop_mcp.store import open_store
from mainloop_mcp.store.base import Backend
from mainloop_mcp.store.changes import KeepsChanges

# Tokens of pyramid history a chat reply sees (about 100 KiB of text; larger prompts go through a file).
CHAT_HISTORY_TOKENS = 24_000


@dataclass
class Hub:
    settings: Settings
    store: Backend
    agents: AgentService
    clock: Clock = utc_now
    semantic: SemanticIndex | None = None
    # Every committed change of the store, in order (None: this store keeps no change log).
    changes: ChangeFeed | None = None
    summariser: Summariser = field(default_factory=ExtractiveSummariser)

    async def close(self) -> None:
        """Stop every agent run (recorded interrupted) and close the store; open_hub does this on exit."""
        await self.agents.aclose()
        await self.store.close()

    def stop_accepting(self) -> None:
        """The hub is about to stop: refuse new agent runs from now on."""
        self.agents.stop_accepting()

    def pyramid(self) -> Pyramid:
        """The memory pyramid over this hub's store."""
        return Pyramid(self.store, zone(self.settings.timezone), self.summariser, self.clock)


@asynccontextmanager
async def open_hub(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Hub]:
    """The store, plus a task group as long-lived as the Hub for background agent runs."""
    store = await open_store(settings.store, clock=clock)
    changes = None
    try:
        async with anyio.create_task_group() as tasks:
            if isinstance(store, KeepsChanges):
                changes = ChangeFeed(await store.change_log())
                await changes.start()
                tasks.start_soon(changes.run)
            agents = AgentService(settings, store, tasks)
            await agents.start()
            hub = Hub(settings=settings, store=store, agents=agents, clock=clock, changes=changes)
            hub.semantic = await open_semantic(settings.embedder, settings.model_cache, store)
            if hub.semantic is not None:
                tasks.start_soon(hub.semantic.run)
            if settings.summariser == "agent":
                hub.summariser = LlmSummariser(hub.agents.ask, name="agent")
            agents.use_history(_pyramid_history(hub))
            try:
                yield hub
            finally:
                await agents.aclose()
                tasks.cancel_scope.cancel()
    finally:
        if changes is not None:
            await changes.close()
        await store.close()


def _pyramid_history(hub: Hub) -> HistorySource:
    async def history(thread: Thread) -> str:
        return render_context(await assemble_context(hub.pyramid(), thread.id, CHAT_HISTORY_TOKENS))

    return history


def hub_of(ctx: Context[Any, Any]) -> Hub:
    """The Hub behind a request (the MCP server's lifespan yields it)."""
    return cast(Hub, ctx.request_context.lifespan_context)


HubDep = Annotated[Hub, Resolve(hub_of)]
"""A tool parameter the SDK fills with the Hub (never part of the tool's input schema)."""
