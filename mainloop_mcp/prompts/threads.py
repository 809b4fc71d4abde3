"""Prompts about threads."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from mainloop_mcp.hub import hub_of
from mainloop_mcp.store.views import thread_view
from mainloop_mcp.tools.args import resolve_thread


async def resume_thread(
    thread_id: Annotated[str, Field(description='The thread to pick up: id, title or "main"')], ctx: Context
) -> str:
    """Everything a client needs to pick a thread up: what it is, its standing context, recent messages."""
    store = hub_of(ctx).store
    view = await thread_view(store, (await resolve_thread(store, thread_id)).id, limit=30)
    t = view.thread
    lines = [
        f'You are resuming the mainloop {t.thread_type.value} thread "{t.title}" (id {t.id}, {t.status.value}).',
    ]
    if t.parent_id:
        lines.append(f"Its parent thread is {t.parent_id}.")
    lines += ["", "## Standing context", t.thread_context or "(none yet)", "", "## Recent messages (oldest first)"]
    if not view.recent_messages:
        lines.append("(no messages yet)")
    for m in view.recent_messages:
        lines.append(f"- [{m.created_at:%Y-%m-%d %H:%M} UTC] {m.role.value}: {m.content}")
    lines += [
        "",
        f'Continue the work of this thread. Post what you decide or produce with post_message(thread_id="{t.id}").',
    ]
    return "\n".join(lines)


PROMPTS = [("resume-thread", resume_thread)]
