"""Thread resources: one thread with its recent messages, and the tree of active threads."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from mainloop_mcp.hub import Hub, hub_of
from mainloop_mcp.store.changes import ACTIVE_THREADS_URI
from mainloop_mcp.store.views import active_threads_page, thread_view


async def thread_resource(id: str, ctx: Context) -> str:
    """A thread with its 50 most recent messages, oldest first (JSON)."""
    return (await thread_view(hub_of(ctx).store, id)).model_dump_json()


async def active_threads_resource(hub: Hub) -> str:
    """The active threads, newest first, as many as fit one answer (JSON); parent_id gives the tree."""
    return (await active_threads_page(hub.store)).model_dump_json()


# Templates reach the hub through their Context; static resources get no Context in the SDK,
# so server.py binds the hub into them.
TEMPLATES = [("thread://{id}", "thread", thread_resource)]
STATIC = [(ACTIVE_THREADS_URI, "active-threads", active_threads_resource)]
