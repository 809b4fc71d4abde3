"""Thread resources: one thread with its recent messages, and the tree of active threads."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from pydantic import BaseModel

from mainloop_mcp.hub import Hub, hub_of
from mainloop_mcp.model import Message, Thread, ThreadFilter, ThreadStatus
from mainloop_mcp.store import Store
from mainloop_mcp.store.changes import ACTIVE_THREADS_URI
from mainloop_mcp.store.paging import read_all

RECENT_MESSAGES = 50


class ThreadView(BaseModel):
    thread: Thread
    recent_messages: list[Message]


class ThreadList(BaseModel):
    threads: list[Thread]


async def thread_view(store: Store, thread_id: str, limit: int = RECENT_MESSAGES) -> ThreadView:
    thread = await store.get_thread(thread_id)
    page = await store.read_messages(thread_id, limit=limit)
    return ThreadView(thread=thread, recent_messages=list(reversed(page.messages)))


async def active_threads(store: Store) -> list[Thread]:
    return await read_all(
        lambda cursor: store.list_threads(ThreadFilter(status=ThreadStatus.ACTIVE), limit=500, cursor=cursor),
        lambda page: page.threads,
    )


async def thread_resource(id: str, ctx: Context) -> str:
    """A thread with its 50 most recent messages, oldest first (JSON)."""
    return (await thread_view(hub_of(ctx).store, id)).model_dump_json()


async def active_threads_resource(hub: Hub) -> str:
    """Every active thread, newest first (JSON); parent_id gives the tree."""
    return ThreadList(threads=await active_threads(hub.store)).model_dump_json()


# Templates reach the hub through their Context; static resources get no Context in the SDK,
# so server.py binds the hub into them.
TEMPLATES = [("thread://{id}", "thread", thread_resource)]
STATIC = [(ACTIVE_THREADS_URI, "active-threads", active_threads_resource)]
