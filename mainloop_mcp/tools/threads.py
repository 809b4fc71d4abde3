"""Thread tools: create, find, read and write threads and their messages."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.hub import HubDep
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.model import (
    FoundThreads,
    ListedThread,
    Message,
    NewMessage,
    NewThread,
    Order,
    Role,
    Thread,
    ThreadMessages,
    ThreadStatus,
    ThreadType,
    check_thread_context,
    check_title,
)
from mainloop_mcp.store.base import edit_store
from mainloop_mcp.store.byte_pages import fit_page, fitting
from mainloop_mcp.store.paging import Keyset
from mainloop_mcp.store.rules import check_limit, check_move
from mainloop_mcp.tools.args import (
    ANY_CASE,
    PAGE_CLIENT,
    ClientRole,
    NewThreadType,
    OptionalThreadRef,
    ThreadRef,
    TimeArg,
    all_threads,
    client_name,
    parse_time,
    resolve_optional,
    resolve_thread,
)
from mainloop_mcp.tools.spec import ToolSpec, reads

# An offset into the filtered, sorted list, with the title filter it was made for.
ACTIVITY = Keyset("threads:activity", ("offset", "title"), (int, str))

Limit = int  # check_limit answers a wrong one with the range
Cursor = str | None
RoleArg = Annotated[
    ClientRole | None,
    Field(description="user = the person's words; default assistant"),
]


async def create_thread(
    title: Annotated[str, Field(description="Short name of the thread")],
    thread_type: Annotated[NewThreadType, Field(description="project (deep work) or task (short-lived)")],
    hub: HubDep,
    parent_id: Annotated[OptionalThreadRef, Field(description="Task: its project (or main). Project: omit")] = None,
    thread_context: Annotated[str, Field(description="Standing context: goals, constraints, links")] = "",
) -> Thread:
    """New project (under main) or task (under a project or main). Check list_threads(title=) first."""
    store = hub.store
    parent = await resolve_optional(store, parent_id)
    new = NewThread(
        thread_type=ThreadType(thread_type),
        title=title,
        parent_id=parent.id if parent else None,
        thread_context=thread_context,
    )
    return await store.create_thread(new)


async def list_threads(
    hub: HubDep,
    title: Annotated[str | None, Field(description="Part of the title, any case")] = None,
    thread_type: Annotated[Annotated[ThreadType, ANY_CASE] | None, Field(description="Only this type")] = None,
    status: Annotated[Annotated[ThreadStatus, ANY_CASE] | None, Field(description="null: both")] = (
        ThreadStatus.ACTIVE
    ),
    parent_id: Annotated[OptionalThreadRef, Field(description="Children of this thread")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> FoundThreads:
    """Find threads by title, most recent activity first (standing context: get_thread)."""
    check_limit(limit)
    store = hub.store
    parent = await resolve_optional(store, parent_id)
    key = (title or "").strip().casefold()
    found = [
        t
        for t in await all_threads(store, status)
        if (thread_type is None or t.thread_type == thread_type)
        and (parent is None or t.parent_id == parent.id)
        and key in t.title.casefold()
    ]
    found.sort(key=lambda t: (t.updated_at, t.id), reverse=True)
    # An offset into the filtered list, with the title filter it was made for.
    start = ACTIVITY.decode(cursor)[0] if cursor else 0
    window = [ListedThread.model_validate(t, from_attributes=True) for t in found[start : start + limit]]
    count = fitting(window)  # fewer when long titles would outgrow what a client accepts
    more = start + count < len(found)
    return FoundThreads(
        threads=window[:count],
        next_cursor=ACTIVITY.encode([start + count, key]) if more else None,
    )


async def get_thread(hub: HubDep, thread_id: OptionalThreadRef = None) -> Thread:
    """One thread and its standing context (default: main). Its history: get_context."""
    return await resolve_thread(hub.store, thread_id or "main")


def default_role(ctx: Context) -> Role:
    """The phone page speaks for the person; any other client is an assistant unless it says otherwise."""
    return Role.USER if client_name(ctx) == PAGE_CLIENT else Role.ASSISTANT


def authored(ctx: Context, metadata: dict[str, Any] | None) -> dict[str, Any]:
    name = client_name(ctx)
    meta = dict(metadata or {})
    if name and name != PAGE_CLIENT:
        meta.setdefault("author", name)
    return meta


async def post_message(
    thread_id: ThreadRef,
    content: Annotated[str, Field(description="Markdown, up to 480 KiB")],
    ctx: Context,
    hub: HubDep,
    role: RoleArg = None,
    idempotency_key: Annotated[str | None, Field(description="A retry with it adds nothing")] = None,
    metadata: Annotated[dict[str, Any] | None, Field(description="Free-form JSON")] = None,
) -> Message:
    """Record a decision, result or note in a thread. Several: post_messages."""
    store = hub.store
    thread = await resolve_thread(store, thread_id)
    new = NewMessage(
        thread_id=thread.id,
        role=Role(role) if role else default_role(ctx),
        content=content,
        idempotency_key=idempotency_key,
        metadata=authored(ctx, metadata),
    )
    message = await store.post_message(new)
    return message


async def read_messages(
    thread_id: ThreadRef,
    hub: HubDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    order: Annotated[Annotated[Order, ANY_CASE], Field(description="newest (default) or oldest first")] = Order.NEWEST,
    since: TimeArg = None,
    until: TimeArg = None,
) -> ThreadMessages:
    """Page through a thread's raw messages, e.g. in a time range. Its memory: get_context; words: search."""
    thread = await resolve_thread(hub.store, thread_id)
    tz, now = zone(hub.settings.timezone), hub.clock()
    start, end = parse_time("since", since, tz, now), parse_time("until", until, tz, now)
    page = await fit_page(  # fewer than `limit` when they would outgrow what a client accepts
        lambda n: hub.store.read_messages(thread.id, limit=n, cursor=cursor, order=order, since=start, until=end),
        lambda page: page.messages,
        limit,
    )
    return ThreadMessages.of(thread.id, page)


async def archive_thread(thread_id: ThreadRef, hub: HubDep) -> Thread:
    """Close a finished project or task; its messages stay searchable."""
    thread = await hub.store.archive_thread((await resolve_thread(hub.store, thread_id)).id)
    return thread


async def update_thread(
    thread_id: ThreadRef,
    hub: HubDep,
    title: Annotated[str | None, Field(description="New title")] = None,
    parent_id: Annotated[OptionalThreadRef, Field(description="Move a task here")] = None,
    status: Annotated[Annotated[ThreadStatus, ANY_CASE] | None, Field(description="active = unarchive")] = None,
    thread_context: Annotated[str | None, Field(description="Replaces the old")] = None,
) -> Thread:
    """Rename, move a task, unarchive, or replace the standing context. Only what you pass changes."""
    store = edit_store(hub.store)
    thread = await resolve_thread(store, thread_id)
    parent = await resolve_optional(store, parent_id)
    try:
        if title is not None:
            check_title(title)
        if thread_context is not None:
            check_thread_context(thread_context)
    except ValueError as exc:  # the model's rule, as the domain error the edge answers
        raise InvalidInput(str(exc)) from exc
    if parent is not None and parent.id != thread.parent_id:
        check_move(thread, parent)
    if status is not None and status != thread.status:
        if status is ThreadStatus.ARCHIVED:
            thread = await store.archive_thread(thread.id)
        else:
            thread = await store.unarchive_thread(thread.id)
    if parent is not None and parent.id != thread.parent_id:
        thread = await store.move_thread(thread.id, parent.id)
    if title is not None and title.strip() != thread.title:
        thread = await store.rename_thread(thread.id, title)
    if thread_context is not None:
        thread = await store.update_thread_context(thread.id, thread_context)
    return thread


TOOLS = [
    ToolSpec(create_thread, "Create thread"),
    reads(list_threads, "Find threads"),
    reads(get_thread, "Get thread"),
    ToolSpec(post_message, "Post message"),
    reads(read_messages, "Read messages"),
    ToolSpec(archive_thread, "Archive thread", idempotent=True),
    ToolSpec(update_thread, "Update thread", destructive=True, idempotent=True),
]
