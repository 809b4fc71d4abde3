"""Agent resources: one sub-agent run as JSON, and the newest runs."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from mcp.server.mcpserver import Context
from pydantic import BaseModel

from mainloop_mcp.hub import Hub, hub_of
from mainloop_mcp.store.changes import RECENT_AGENTS_URI

RECENT_RUNS = 20
WORK_FOLDERS_URI = "agents://work-folders"
SUBFOLDERS_PER_ROOT = 100


class WorkFolders(BaseModel):
    roots: list[str]
    folders: list[str]  # every root and its direct, non-hidden subfolders: where spawn_agent may work


def work_folders(roots: list[Path]) -> WorkFolders:
    folders: list[str] = []
    for root in (r.expanduser() for r in roots):
        if not root.is_dir():
            continue
        folders.append(str(root))
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        folders += [str(p) for p in children[:SUBFOLDERS_PER_ROOT]]
    return WorkFolders(roots=[str(r.expanduser()) for r in roots], folders=folders)


async def agent_resource(id: str, ctx: Context) -> str:
    """One agent run: status, task thread, work folder, result or error (JSON)."""
    return (await hub_of(ctx).agents.get(id)).model_dump_json()


async def recent_agents_resource(hub: Hub) -> str:
    """The 20 newest agent runs with their status (JSON); changes whenever any run changes."""
    return (await hub.agents.list(None, None, RECENT_RUNS, None)).model_dump_json()


async def work_folders_resource(hub: Hub) -> str:
    """Folders an agent may work in (JSON): the configured work roots and their direct subfolders.
    Pick spawn_agent's work_folder from these."""
    return (await anyio.to_thread.run_sync(work_folders, hub.settings.agent_work_roots)).model_dump_json()


TEMPLATES = [("agent://{id}", "agent", agent_resource)]
STATIC = [
    (RECENT_AGENTS_URI, "recent-agents", recent_agents_resource),
    (WORK_FOLDERS_URI, "work-folders", work_folders_resource),
]
