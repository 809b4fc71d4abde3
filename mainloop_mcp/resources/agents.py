"""Agent resources: one sub-agent run as JSON, and the newest runs."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from mainloop_mcp.hub import Hub, hub_of
from mainloop_mcp.store.changes import RECENT_AGENTS_URI

RECENT_RUNS = 20


async def agent_resource(id: str, ctx: Context) -> str:
    """One agent run: status, task thread, work folder, result or error (JSON)."""
    return (await hub_of(ctx).agents.get(id)).model_dump_json()


async def recent_agents_resource(hub: Hub) -> str:
    """The 20 newest agent runs with their status (JSON); changes whenever any run changes."""
    return (await hub.agents.list(None, None, RECENT_RUNS, None)).model_dump_json()


TEMPLATES = [("agent://{id}", "agent", agent_resource)]
STATIC = [(RECENT_AGENTS_URI, "recent-agents", recent_agents_resource)]
