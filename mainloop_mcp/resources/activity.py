"""`threads://activity`: per active thread, how many messages it has and its newest one (for triage:
unread counts, a preview, the last-activity time).

Read through the store's protocol (the newest message, and a count over all time), so every backend
serves it; that is two small reads per thread, cheap on SQLite (see bench/web_triage.py) and two jobs
per thread on BigQuery, so the page reads it when the tree changes, not on every message.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from mainloop_mcp.hub import Hub
from mainloop_mcp.model import Message, Role, Thread
from mainloop_mcp.store import Store
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.views import active_threads

PREVIEW_CHARS = 140
ALL_TIME = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
ACTIVITY_URI = "threads://activity"


class ThreadActivity(BaseModel):
    thread_id: str
    message_count: int
    last_at: datetime | None  # the newest message's time; None for a thread without messages
    last_role: Role | None
    preview: str | None  # the newest message's first PREVIEW_CHARS characters, whitespace folded


class ActivityList(BaseModel):
    threads: list[ThreadActivity]


def preview_of(message: Message) -> str:
    text = " ".join(message.content.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


async def thread_activity(store: Store, thread: Thread) -> ThreadActivity:
    page = await store.read_messages(thread.id, limit=1)
    newest = page.messages[0] if page.messages else None
    count = (await memory_store(store).count_messages(thread.id, [ALL_TIME]))[0] if newest else 0
    return ThreadActivity(
        thread_id=thread.id,
        message_count=count,
        last_at=newest.created_at if newest else None,
        last_role=newest.role if newest else None,
        preview=preview_of(newest) if newest else None,
    )


async def activity_resource(hub: Hub) -> str:
    """Per active thread: message count, newest message's time, role and a short preview (JSON).
    For triage (which threads moved, what was said last); read one thread with thread://{id}."""
    threads = await active_threads(hub.store)
    return ActivityList(threads=[await thread_activity(hub.store, t) for t in threads]).model_dump_json()


STATIC = [(ACTIVITY_URI, "thread-activity", activity_resource)]
