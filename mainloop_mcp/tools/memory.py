"""Memory tools: a thread's pyramid context, zooming into a period, status across threads, compaction."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from mainloop_mcp.hub import hub_of
from mainloop_mcp.memory.compact import CompactReport
from mainloop_mcp.memory.compact import compact as compact_history
from mainloop_mcp.memory.context import MAX_BUDGET, MIN_BUDGET, ThreadContext, assemble_context
from mainloop_mcp.memory.zoom import ZoomResult
from mainloop_mcp.memory.zoom import zoom as zoom_period
from mainloop_mcp.model import MAX_PAGE_SIZE, Granularity
from mainloop_mcp.search.hybrid import MODE_HELP, SearchMode
from mainloop_mcp.search.status import StatusAnswer
from mainloop_mcp.search.status import ask_status as status_of

Budget = Annotated[int, Field(description=f"Most tokens the answer may hold ({MIN_BUDGET} to {MAX_BUDGET:,})")]


async def get_context(
    thread_id: Annotated[str, Field(description="Thread whose memory to load")],
    ctx: Context,
    token_budget: Budget = 8000,
) -> ThreadContext:
    """Load a thread's memory within a token budget: the last day's full messages, then daily,
    weekly and monthly summaries further back, plus a share for the parent thread. Items never
    overlap; zoom into any item's `period` for more detail."""
    return await assemble_context(hub_of(ctx).pyramid(), thread_id, token_budget)


async def zoom(
    thread_id: Annotated[str, Field(description="Thread to zoom into")],
    period: Annotated[str, Field(description="A month (2026-11), ISO week (2026-W47) or day (2026-11-24)")],
    ctx: Context,
    level: Annotated[
        Granularity | None,
        Field(description="week, day or message; default: the next finer level (month->week->day->message)"),
    ] = None,
    limit: Annotated[int, Field(description=f"Messages per page, 1 to {MAX_PAGE_SIZE}")] = 50,
    cursor: Annotated[str | None, Field(description="next_cursor of the previous page of messages")] = None,
) -> ZoomResult:
    """Expand a period of a thread into finer detail: a month into its weeks, a week into its
    days, a day into its full messages (paginated)."""
    return await zoom_period(hub_of(ctx).pyramid(), thread_id, period, level, limit=limit, cursor=cursor)


async def ask_status(
    topic: Annotated[str, Field(description="What to ask about, in a few words, e.g. 'garden irrigation'")],
    ctx: Context,
    max_threads: Annotated[int, Field(ge=1, le=10, description="How many threads to report on")] = 3,
    token_budget: Annotated[int, Field(description=f"Token budget per thread ({MIN_BUDGET} or more)")] = 2000,
    mode: Annotated[SearchMode, Field(description=MODE_HELP)] = SearchMode.AUTO,
) -> StatusAnswer:
    """Answer "what's the status of X?": find the threads most relevant to a topic and return each
    one's latest memory (its pyramid context) with the matching snippets."""
    hub = hub_of(ctx)
    return await status_of(
        hub.pyramid(), topic, max_threads=max_threads, token_budget=token_budget, semantic=hub.semantic, mode=mode
    )


async def compact(
    ctx: Context,
    thread_id: Annotated[str | None, Field(description="Only this thread; omit for every thread")] = None,
) -> CompactReport:
    """Build every missing or stale summary of finished periods and post each child thread's daily
    summaries into its parent. Safe to repeat; usually run nightly."""
    return await compact_history(hub_of(ctx).pyramid(), thread_id)


TOOLS = [get_context, zoom, ask_status, compact]
