"""Agent resources: one sub-agent run as JSON."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from mainloop_mcp.hub import hub_of


async def agent_resource(id: str, ctx: Context) -> str:
    """One agent run: status, task thread, work folder, result or error (JSON)."""
    return (await hub_of(ctx).agents.get(id)).model_dump_json()


TEMPLATES = [("agent://{id}", "agent", agent_resource)]
