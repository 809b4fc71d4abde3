"""The Hub: the services one running mainloop shares, built once and handed to every handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import anyio
from mcp.server.mcpserver import Context

from mainloop_mcp.agents.context import HistorySource
from mainloop_mcp.agents.service import AgentService, RunsStore
from mainloop_mcp.changes.feed import ChangeFeed
from mainloop_mcp.config import Settings
from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.memory.context import assemble_context, render_context
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.memory.summariser import ExtractiveSummariser, LlmSummariser, Summariser
from mainloop_mcp.model import Clock, Thread, utc_now
from mainloop_mcp.search.semantic import SemanticIndex, open_semantic
from mainloop_mcp.store import Store, open_store
from mainloop_mcp.store.base import AgentRunStore, SummaryStore, memory_store
from mainloop_mcp.store.changes import KeepsChanges

# Tokens of pyramid history a chat reply sees (about 100 KiB of text; larger prompts go through a file).
CHAT_HISTORY_TOKENS = 24_000


@dataclass
class Hub:
    settings: Settings
    store: Store
    clock: Clock = utc_now
    agents_service: AgentService | None = None
    semantic: SemanticIndex | None = None
    # Every committed change of the store, in order (None: this store keeps no change log).
    changes: ChangeFeed | None = None

    @property
    def agents(self) -> AgentService:
        if self.agents_service is None:
            raise InvalidInput("sub-agents need a store that keeps agent runs (sqlite:///...); this store does not")
        return self.agents_service

    summariser: Summariser = field(default_factory=ExtractiveSummariser)

    async def close(self) -> None:
        """Stop every agent run (recorded interrupted) and close the store; open_hub does this on exit."""
        if self.agents_service is not None:
            await self.agents_service.aclose()
        await self.store.close()

    def stop_accepting(self) -> None:
        """The hub is about to stop: refuse new agent runs from now on."""
        if self.agents_service is not None:
            self.agents_service.stop_accepting()

    def pyramid(self) -> Pyramid:
        """The memory pyramid over this hub's store (a clear error for a store that keeps no summaries)."""
        return Pyramid(memory_store(self.store), zone(self.settings.timezone), self.summariser, self.clock)


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
            agents = None
            if isinstance(store, AgentRunStore):
                agents = AgentService(settings, cast(RunsStore, store), tasks)
                await agents.start()
            hub = Hub(settings=settings, store=store, clock=clock, agents_service=agents, changes=changes)
            hub.semantic = await open_semantic(settings.embedder, settings.model_cache, store)
            if hub.semantic is not None:
                tasks.start_soon(hub.semantic.run)
            if settings.summariser == "agent":
                hub.summariser = LlmSummariser(hub.agents.ask, name="agent")
            if agents is not None and isinstance(store, SummaryStore):
                agents.use_history(_pyramid_history(hub))
            try:
                yield hub
            finally:
                if agents is not None:
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
