"""Reads that resources and prompts both show: a thread with its recent messages, the active threads."""

from __future__ import annotations

from pydantic import BaseModel

from mainloop_mcp.model import Message, Thread, ThreadFilter, ThreadStatus
from mainloop_mcp.store.base import Store
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
