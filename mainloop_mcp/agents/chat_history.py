"""What a chat reply sees: the thread's history as the memory pyramid assembles it (or, on a store
without summaries, its standing context and recent messages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mainloop_mcp.model import Message, Order, Thread
from mainloop_mcp.store import Store

# Renders a thread's history for a prompt; the hub passes the memory pyramid's when the store keeps one.
HistorySource = Callable[[Thread], Awaitable[str]]

CHAT_BUDGET_BYTES = 100 * 1024
RECENT_LIMIT = 200


def _line(message: Message) -> str:
    return f"[{message.created_at.isoformat(timespec='seconds')}] {message.role.value}: {message.content}"


async def recent_transcript(store: Store, thread_id: str, budget_bytes: int) -> str:
    """The newest messages that fit in `budget_bytes`, oldest first."""
    page = await store.read_messages(thread_id, limit=RECENT_LIMIT, order=Order.NEWEST)
    kept: list[str] = []
    used = 0
    for message in page.messages:
        line = _line(message)
        size = len(line.encode("utf-8")) + 1
        if kept and used + size > budget_bytes:
            break
        kept.append(line)
        used += size
    return "\n".join(reversed(kept))


async def transcript_history(store: Store, thread: Thread, budget_bytes: int = CHAT_BUDGET_BYTES) -> str:
    parts = []
    if thread.thread_context.strip():
        parts += ["## Thread context", thread.thread_context.strip(), ""]
    parts += ["## Conversation (oldest first)", await recent_transcript(store, thread.id, budget_bytes)]
    return "\n".join(parts)


def chat_prompt(thread: Thread, history: str) -> str:
    parts = [
        f"You are the assistant in the mainloop thread {thread.title!r} ({thread.thread_type.value} thread).",
        "Reply to the last user message below. Answer with the reply text only.",
        "",
        history,
    ]
    return "\n".join(parts)
