"""`threads://activity`: per active thread, how many messages it has and its newest one (for triage:
unread counts, a preview, the last-activity time).

One store read for all threads (ActivityStore: one query on SQLite, one job on BigQuery); the page
reads it when the tree changes, not on every message.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from mainloop_mcp.hub import Hub
from mainloop_mcp.model import Message, Role, Thread
from mainloop_mcp.store.views import active_threads

PREVIEW_CHARS = 140
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


def activity_of(thread: Thread, seen: tuple[int, Message] | None) -> ThreadActivity:
    count, newest = seen if seen is not None else (0, None)
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
    seen = await hub.store.thread_activity([t.id for t in threads])
    return ActivityList(threads=[activity_of(t, seen.get(t.id)) for t in threads]).model_dump_json()


STATIC = [(ACTIVITY_URI, "thread-activity", activity_resource)]
