"""Reads that resources and prompts both show: a thread with its recent messages, the active threads.

Both are bounded by bytes as well as by count, so no answer outgrows what MCP clients accept.
"""

from __future__ import annotations

from pydantic import BaseModel

from mainloop_mcp.model import MAX_RESPONSE_BYTES, Message, Thread, ThreadFilter, ThreadStatus
from mainloop_mcp.store.base import Store
from mainloop_mcp.store.byte_pages import fitting
from mainloop_mcp.store.paging import read_all

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
    threads = await active_threads(store)
    count = fitting(threads, budget)
    if count == len(threads):
        return ThreadList(threads=threads)
    more = f"only the newest {count:,} active threads fit; list_threads pages through all"
    return ThreadList(threads=threads[:count], more=more)


async def threads_where(store: Store, where: ThreadFilter) -> list[Thread]:
    """Every thread `where` selects, newest first, read page by page."""
    return await read_all(
        lambda cursor: store.list_threads(where, limit=500, cursor=cursor),
        lambda page: page.threads,
    )


async def active_threads(store: Store) -> list[Thread]:
    return await threads_where(store, ThreadFilter(status=ThreadStatus.ACTIVE))
