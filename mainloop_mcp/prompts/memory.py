"""Prompts over the memory: a daily review across threads, and writing a period's summary."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.hub import hub_of
from mainloop_mcp.memory.periods import Period, day, local_date, parse_period
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.memory.summariser import Source, SummaryRequest, prompt_for
from mainloop_mcp.model import PAGE_BUDGET_BYTES, Granularity
from mainloop_mcp.store.views import active_threads
from mainloop_mcp.tools.args import resolve_thread

RELATIVE_DAYS = {"today": 0, "yesterday": 1}


def _day(pyr: Pyramid, text: str | None) -> Period:
    """`today` (the default: the day so far, in the hub's zone), `yesterday`, or a date."""
    words = (text or "today").strip().lower()
    if words in RELATIVE_DAYS:
        return day(local_date(pyr.now(), pyr.tz) - timedelta(days=RELATIVE_DAYS[words]))
    period = parse_period(words)
    if period.granularity is not Granularity.DAY:
        raise InvalidInput(f"day {text!r} is a {period.granularity.value}; pass a day like 2026-11-24")
    return period


async def daily_review(
    ctx: Context,
    day: Annotated[
        str | None, Field(description="today (default, so far), yesterday, or a date like 2026-11-24")
    ] = None,
) -> str:
    """Review one day across every active thread: what happened, what is open, what comes next."""
    pyr = hub_of(ctx).pyramid()
    period = _day(pyr, day)
    lines = [f"# Daily review for {period.label}", ""]
    day_start, used = period.start(pyr.tz), 0
    for thread in await active_threads(pyr.store):
        if thread.updated_at < day_start:
            continue  # untouched since before the day: nothing of it happened that day
        if used > PAGE_BUDGET_BYTES:
            lines += [
                "(The review stops here: it holds as much as one answer may. Read the other threads "
                "active that day with get_context.)",
                "",
            ]
            break
        summary = await pyr.summary(thread, period)
        if summary is not None:
            lines += [f'## {thread.thread_type.value} "{thread.title}" ({thread.id})', summary.content, ""]
            used += len(lines[-3].encode()) + len(summary.content.encode())
    if len(lines) == 2:
        lines.append("No thread had messages on this day.")
    lines += [
        "",
        "Review the day: what moved forward, what is blocked or waiting on the user, and the next step per "
        "thread. Post the review into the main thread with post_message.",
    ]
    return "\n".join(lines)


async def summarize_period(
    thread_id: Annotated[str, Field(description='Thread to summarise: id, title or "main"')],
    period: Annotated[str, Field(description="2026-11, 2026-W47, 2026-11-24, today or yesterday")],
    ctx: Context,
) -> str:
    """Ask the model to write the summary of one period of a thread from its finer material."""
    pyr = hub_of(ctx).pyramid()
    words = period.strip().lower()
    p = _day(pyr, words) if words in RELATIVE_DAYS else parse_period(period)
    thread = await resolve_thread(pyr.store, thread_id)
    if p.granularity is Granularity.DAY:
        sources = [Source(pyr.message_label(m), m.content) for m in await pyr.messages_in(thread.id, p)]
    else:
        found = await pyr.resolve(thread, p.children())
        sources = [Source(c.label, s.content) for c, s in sorted(found.items())]
    return prompt_for(SummaryRequest(thread.title, p.label, p.granularity, sources))


PROMPTS: list[tuple[str, Callable[..., Awaitable[str]]]] = [
    ("daily-review", daily_review),
    ("summarize-period", summarize_period),
]
