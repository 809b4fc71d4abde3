"""Thread tools: create, list, read and write threads and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from mainloop_mcp.hub import hub_of
from mainloop_mcp.model import (
    MAX_PAGE_SIZE,
    Message,
    MessagePage,
    NewMessage,
    NewThread,
    Order,
    Role,
    Thread,
    ThreadFilter,
    ThreadPage,
    ThreadStatus,
    ThreadType,
)

Limit = Annotated[int, Field(description=f"Page size, 1 to {MAX_PAGE_SIZE}")]
Cursor = Annotated[str | None, Field(description="next_cursor from the previous page; omit for the first page")]


async def create_thread(
    title: Annotated[str, Field(description="Short name of the thread")],
    thread_type: Annotated[ThreadType, Field(description="project (deep work) or task (short-lived)")],
    ctx: Context,
    parent_id: Annotated[
        str | None, Field(description="Parent thread id: required for a task; a project's parent is the main thread")
    ] = None,
    thread_context: Annotated[str, Field(description="Standing context: goals, constraints, links")] = "",
) -> Thread:
    """Create a project thread (under main) or a task thread (under a project or main)."""
    new = NewThread(thread_type=thread_type, title=title, parent_id=parent_id, thread_context=thread_context)
    return await hub_of(ctx).store.create_thread(new)


async def list_threads(
    ctx: Context,
    thread_type: Annotated[ThreadType | None, Field(description="Only this type")] = None,
    status: Annotated[ThreadStatus | None, Field(description="active (default) or archived; null for both")] = (
        ThreadStatus.ACTIVE
    ),
    parent_id: Annotated[str | None, Field(description="Only children of this thread")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ThreadPage:
    """List threads, newest first, to find the id of the thread to work in."""
    where = ThreadFilter(thread_type=thread_type, status=status, parent_id=parent_id)
    return await hub_of(ctx).store.list_threads(where, limit=limit, cursor=cursor)


async def get_thread(
    ctx: Context, thread_id: Annotated[str | None, Field(description="Thread id; omit for the main thread")] = None
) -> Thread:
    """Get one thread (the main thread when no id is given)."""
    store = hub_of(ctx).store
    return await store.get_thread(thread_id) if thread_id else await store.main_thread()


async def post_message(
    thread_id: Annotated[str, Field(description="Thread to post into")],
    content: Annotated[str, Field(description="Message text (markdown), at most 1 MiB")],
    ctx: Context,
    role: Annotated[Role, Field(description="Who speaks: user, assistant, agent, system or summary")] = Role.USER,
    idempotency_key: Annotated[
        str | None, Field(description="Your unique key for this post; a retry with the same key adds nothing")
    ] = None,
    metadata: Annotated[dict[str, Any] | None, Field(description="Free-form JSON kept with the message")] = None,
) -> Message:
    """Append a message to a thread. Safe to retry with the same idempotency_key."""
    new = NewMessage(
        thread_id=thread_id, role=role, content=content, idempotency_key=idempotency_key, metadata=metadata or {}
    )
    return await hub_of(ctx).store.post_message(new)


async def read_messages(
    thread_id: Annotated[str, Field(description="Thread to read")],
    ctx: Context,
    limit: Limit = 50,
    cursor: Cursor = None,
    order: Annotated[Order, Field(description="newest (default) first, or oldest first")] = Order.NEWEST,
    since: Annotated[datetime | None, Field(description="Only messages at or after this time (ISO 8601)")] = None,
    until: Annotated[datetime | None, Field(description="Only messages before this time (ISO 8601)")] = None,
) -> MessagePage:
    """Read a thread's messages, paginated, newest first or within a time range."""
    return await hub_of(ctx).store.read_messages(
        thread_id, limit=limit, cursor=cursor, order=order, since=since, until=until
    )


async def archive_thread(thread_id: Annotated[str, Field(description="Thread to archive")], ctx: Context) -> Thread:
    """Archive a finished project or task thread; its messages stay searchable."""
    return await hub_of(ctx).store.archive_thread(thread_id)


async def update_thread_context(
    thread_id: Annotated[str, Field(description="Thread to update")],
    thread_context: Annotated[str, Field(description="The new standing context (replaces the old one)")],
    ctx: Context,
) -> Thread:
    """Replace a thread's standing context: goals, constraints, decisions worth keeping in view."""
    return await hub_of(ctx).store.update_thread_context(thread_id, thread_context)


TOOLS = [
    create_thread,
    list_threads,
    get_thread,
    post_message,
    read_messages,
    archive_thread,
    update_thread_context,
]
