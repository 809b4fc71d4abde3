"""Memory tools: a thread's pyramid context, zooming into a period, status across threads, compaction."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mainloop_mcp.hub import HubDep
from mainloop_mcp.memory.assembly import MIN_BUDGET, ThreadContext, assemble_context
from mainloop_mcp.memory.compact import CompactReport
from mainloop_mcp.memory.compact import compact as compact_history
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.zoom import ZoomResult
from mainloop_mcp.memory.zoom import zoom as zoom_period
from mainloop_mcp.model import Granularity
from mainloop_mcp.search.status import StatusAnswer
from mainloop_mcp.search.status import ask_status as status_of
from mainloop_mcp.tools.args import ANY_CASE, OptionalThreadRef, ThreadRef, period_label, resolve_thread
from mainloop_mcp.tools.spec import ToolSpec, reads

Budget = Annotated[int, Field(description="Tokens the whole answer may use")]


async def get_context(
    thread_id: ThreadRef,
    hub: HubDep,
    token_budget: Budget = 8000,
) -> ThreadContext:
    """Start here: a thread's memory in a token budget: recent messages whole, older days, weeks,
    months summarised, some parent context. If cut, `cut` says how to get the rest."""
    thread = await resolve_thread(hub.store, thread_id)
    return await assemble_context(hub.pyramid(), thread.id, token_budget)


async def zoom(
    thread_id: ThreadRef,
    period: Annotated[str, Field(description="2026-11, 2026-W47 or 2026-11-24")],
    hub: HubDep,
    level: Annotated[
        Annotated[Granularity, ANY_CASE] | None,
        Field(description="Default: the next finer level"),
    ] = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ZoomResult:
    """Expand a period from get_context or search: month into weeks, week into days, day into messages."""
    thread = await resolve_thread(hub.store, thread_id)
    label = period_label(period, zone(hub.settings.timezone), hub.clock())
    return await zoom_period(hub.pyramid(), thread.id, label, level, limit=limit, cursor=cursor)


async def ask_status(
    topic: Annotated[str, Field(description="A few words, e.g. 'garden irrigation'")],
    hub: HubDep,
    max_threads: Annotated[int, Field(ge=1, le=10)] = 3,
    token_budget: Annotated[int, Field(description=f"Token budget per thread ({MIN_BUDGET} or more)")] = 2000,
) -> StatusAnswer:
    """ "Where does X stand?" across threads: the most relevant ones, with snippets and latest memory."""
    return await status_of(
        hub.pyramid(), topic, max_threads=max_threads, token_budget=token_budget, semantic=hub.semantic
    )


async def compact(
    hub: HubDep,
    thread_id: Annotated[OptionalThreadRef, Field(description="Default: all")] = None,
) -> CompactReport:
    """Nightly maintenance: build stale or missing summaries; post each child's daily digest to its parent."""
    thread = await resolve_thread(hub.store, thread_id) if thread_id else None
    return await compact_history(hub.pyramid(), thread.id if thread else None)


TOOLS = [
    reads(get_context, "Load thread memory"),
    reads(zoom, "Zoom into a period"),
    reads(ask_status, "Status of a topic"),
    ToolSpec(compact, "Compact history", idempotent=True),
]
