"""Thread resources: one thread with its recent messages, and the tree of active threads."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from pydantic import BaseModel

from mainloop_mcp.hub import Hub, hub_of
from mainloop_mcp.model import MAX_RESPONSE_BYTES, Message, Thread, ThreadFilter, ThreadStatus
from mainloop_mcp.store import Store
from mainloop_mcp.store.byte_pages import fitting
from mainloop_mcp.store.changes import ACTIVE_THREADS_URI

RECENT_MESSAGES = 50


class ThreadView(BaseModel):
    thread: Thread
    recent_messages: list[Message]


class ThreadList(BaseModel):
    threads: list[Thread]
    more: str | None = None


async def thread_view(store: Store, thread_id: str, limit: int = RECENT_MESSAGES) -> ThreadView:
    """The thread and its newest messages, as many of `limit` as fit one answer."""
    thread = await store.get_thread(thread_id)
    page = await store.read_messages(thread_id, limit=limit)
    budget = MAX_RESPONSE_BYTES - len(thread.model_dump_json().encode()) - 4096
    kept = page.messages[: fitting(page.messages, budget)]
    return ThreadView(thread=thread, recent_messages=list(reversed(kept)))


async def active_threads_page(store: Store, budget: int = MAX_RESPONSE_BYTES - 4096) -> ThreadList:
    """The newest active threads that fit one answer; `more` says when there are others."""
    threads: list[Thread] = []
    used, cursor = 0, None
    while True:
        page = await store.list_threads(ThreadFilter(status=ThreadStatus.ACTIVE), limit=500, cursor=cursor)
        for thread in page.threads:
            used += len(thread.model_dump_json().encode()) + 1
            if used > budget:
                more = f"only the newest {len(threads):,} active threads fit; list_threads pages through all"
                return ThreadList(threads=threads, more=more)
            threads.append(thread)
        if page.next_cursor is None:
            return ThreadList(threads=threads)
        cursor = page.next_cursor


async def active_threads(store: Store) -> list[Thread]:
    threads: list[Thread] = []
    cursor = None
    while True:
        page = await store.list_threads(ThreadFilter(status=ThreadStatus.ACTIVE), limit=500, cursor=cursor)
        threads += page.threads
        if page.next_cursor is None:
            return threads
        cursor = page.next_cursor


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
