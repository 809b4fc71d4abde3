"""Context assembly: a thread's history as a non-overlapping pyramid that fits a token budget.

Bands, newest first, all on local calendar boundaries so they tile time without overlap:
full messages from the start of the local day that holds `now - 24h`; daily summaries for the
6 days before that, extended back to that ISO week's Monday; weekly summaries (and single days
where an ISO week straddles the month edge) back to the first of the month holding
`now - 30 days`; monthly summaries before that. Filling stops at the first item that does not
fit, so what is returned is always a contiguous stretch of the most recent history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from pydantic import BaseModel, Field

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.memory.periods import Period, local_date, month_of, tile, week_of
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.memory.tokens import clip_to_tokens, estimate_tokens
from mainloop_mcp.model import Granularity, Message, Role, Summary, Thread, ThreadType

MIN_BUDGET = 200
MAX_BUDGET = 1_000_000
PARENT_SHARE = 0.2
FULL_PAGE = 200


class ContextItem(BaseModel):
    """One piece of history: a full message or the summary of a period. Zoom with `period`."""

    granularity: Granularity
    period: str = Field(description="Zoomable period label: 2026-11, 2026-W47 or 2026-11-24 (a message: its day)")
    start: datetime
    end: datetime | None = Field(default=None, description="Exclusive end of a summarised period")
    content: str
    token_count: int
    source_message_count: int = Field(description="Messages this item stands for (1 for a full message)")
    message_id: str | None = None
    role: Role | None = None


class ThreadContext(BaseModel):
    thread_id: str
    title: str
    thread_type: ThreadType
    thread_context: str = Field(description="The thread's standing context (clipped to half the budget)")
    token_budget: int
    token_count: int
    complete: bool = Field(description="True when every message of the thread is represented")
    items: list[ContextItem] = Field(description="Oldest first; periods never overlap")
    parent: ThreadContext | None = None
    cut: str | None = Field(default=None, description="What was left out for the budget, and how to get it")
    timezone: str | None = Field(default=None, description="The hub's zone, whose clock the summaries cite")


def check_budget(token_budget: int) -> None:
    if not MIN_BUDGET <= token_budget <= MAX_BUDGET:
        raise InvalidInput(
            f"token_budget {token_budget} is out of range; pass between {MIN_BUDGET} and {MAX_BUDGET:,} (e.g. 8000)"
        )


def bands(now: datetime, first_message: datetime, pyr: Pyramid) -> tuple[datetime, list[Period]]:
    """Start of the full-message band, and the summarised periods before it, newest first."""
    full_day = local_date(now - timedelta(hours=24), pyr.tz)
    daily_from = week_of(full_day - timedelta(days=6)).first_day
    weekly_from = month_of(local_date(now - timedelta(days=30), pyr.tz)).first_day
    recent = tile(daily_from, full_day, Granularity.DAY) + tile(weekly_from, daily_from, Granularity.WEEK)
    recent.sort(reverse=True)
    first_month = month_of(local_date(first_message, pyr.tz)).first_day
    months = tile(first_month, weekly_from, Granularity.MONTH) if first_month < weekly_from else []
    return Period(full_day, Granularity.DAY).start(pyr.tz), recent + list(reversed(months))


def message_item(m: Message, pyr: Pyramid) -> ContextItem:
    return ContextItem(
        granularity=Granularity.MESSAGE,
        period=local_date(m.created_at, pyr.tz).isoformat(),
        start=m.created_at,
        content=m.content,
        token_count=estimate_tokens(m.content),
        source_message_count=1,
        message_id=m.id,
        role=m.role,
    )


def summary_item(p: Period, s: Summary) -> ContextItem:
    return ContextItem(
        granularity=p.granularity,
        period=p.label,
        start=s.period_start,
        end=s.period_end,
        content=s.content,
        token_count=s.token_count,
        source_message_count=s.source_message_count,
    )


async def assemble_context(pyr: Pyramid, thread_id: str, token_budget: int, with_parent: bool = True) -> ThreadContext:
    """Fill the budget from the newest full messages back, then daily, weekly, monthly summaries;
    a parent thread (project for a task, main for a project) gets a fixed share of the budget."""
    check_budget(token_budget)
    return await _assemble(pyr, await pyr.store.get_thread(thread_id), token_budget, with_parent)


async def _assemble(pyr: Pyramid, thread: Thread, token_budget: int, with_parent: bool) -> ThreadContext:
    parent = None
    if with_parent and thread.parent_id is not None:
        parent_thread = await pyr.store.get_thread(thread.parent_id)
        parent = await _assemble(pyr, parent_thread, int(token_budget * PARENT_SHARE), with_parent=False)
        if not parent.items and not parent.thread_context:
            parent = None  # an empty parent (a fresh main) would only cost tokens
    # The standing context counts against the budget too, but never takes more than half of it.
    standing = clip_to_tokens(thread.thread_context, token_budget // 2) if thread.thread_context else ""
    context = ThreadContext(
        thread_id=thread.id,
        title=thread.title,
        thread_type=thread.thread_type,
        thread_context=standing,
        token_budget=token_budget,
        token_count=0,
        complete=True,
        items=[],
        parent=parent,
        timezone=pyr.tz.key if with_parent else None,  # once per answer, on the outermost context
    )
    # What the client reads is the whole answer: its envelope (and cut note) counts against the budget.
    context.token_count = token_budget  # as wide as the final count can be, so the guard below is safe
    envelope = answer_tokens(context) + estimate_tokens(CUT_NOTE) + ENVELOPE_SLACK
    items, complete = await _fill(pyr, thread, token_budget - envelope)
    items.reverse()
    context.items, context.complete = items, complete
    while context.items and answer_tokens(context) > token_budget:
        context.items.pop(0)  # the estimate per item is an upper bound; this is the guard
        context.complete = False
    if not context.complete:
        context.cut = cut_note(context)
    for _ in range(3):  # the count is part of what it counts: settle it (it only shrinks from the budget)
        settled = answer_tokens(context)
        if settled == context.token_count:
            break
        context.token_count = max(settled, answer_tokens(context.model_copy(update={"token_count": settled})))
    return context


CUT_NOTE = (
    "older history left out (budget): zoom a period before 2026-W47, "
    "or read_messages with until=2026-11-24T12:00:00+00:00"
)
ENVELOPE_SLACK = 8


def cut_note(context: ThreadContext) -> str:
    if not context.items:
        return "history left out (budget): raise token_budget, or use read_messages / zoom"
    oldest = context.items[0]
    return (
        f"older history left out (budget): zoom a period before {oldest.period}, "
        f"or read_messages with until={oldest.start.isoformat(timespec='seconds')}"
    )


def answer_tokens(context: ThreadContext) -> int:
    """Tokens of everything a client may read: the larger of the JSON answer and its markdown text."""
    as_json = context.model_dump_json(exclude_defaults=True)
    return max(estimate_tokens(as_json), estimate_tokens(render_context(context)))


def item_tokens(item: ContextItem) -> int:
    """An item's share of the answer: its JSON form (always longer than its line of text), plus a comma."""
    return estimate_tokens(item.model_dump_json(exclude_defaults=True)) + 1


async def _fill(pyr: Pyramid, thread: Thread, budget: int) -> tuple[list[ContextItem], bool]:
    """Items newest first, and whether the whole history fit."""
    span = await pyr.store.message_span(thread.id)
    if span is None:
        return [], True
    now = pyr.now()
    full_from, periods = bands(now, span[0], pyr)
    items: list[ContextItem] = []
    cursor = None
    while True:
        page = await pyr.store.read_messages(thread.id, limit=FULL_PAGE, cursor=cursor, since=full_from)
        for m in page.messages:
            if m.metadata.get("superseded_by"):
                continue  # its correction stands in for it
            item = message_item(m, pyr)
            cost = item_tokens(item)
            if cost > budget:
                return items, False
            items.append(item)
            budget -= cost
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    recent = [p for p in periods if p.granularity is not Granularity.MONTH]
    summaries = await pyr.resolve(thread, recent)
    months = await pyr.plan(thread.id, periods[len(recent) :])  # built only when the budget reaches them
    for p in periods:
        if p in summaries:
            s = summaries[p]
        elif p in months:
            s = months[p] or await pyr.build(thread, p)
        else:
            continue
        item = summary_item(p, s)
        cost = item_tokens(item)
        if cost > budget:
            return items, False
        items.append(item)
        budget -= cost
    return items, True


def item_line(item: ContextItem, tz: tzinfo = UTC) -> str:
    """One item as a line: `2026-11-24 14:02:11 user: text` or `[week 2026-W47, 12 messages] summary`."""
    if item.granularity is Granularity.MESSAGE:
        role = item.role.value if item.role else "message"
        text = item.content.replace("\n", "\n  ")
        return f"{item.start.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S')} {role}: {text}"
    count = item.source_message_count
    return f"[{item.granularity.value} {item.period}, {count} messages] {item.content}"


def render_context(context: ThreadContext, tz: tzinfo = UTC) -> str:
    """The assembled pyramid as markdown: parent first, then the thread's standing context and history."""
    lines: list[str] = []
    if context.parent is not None:
        lines += [
            f"## Parent {context.parent.title!r} ({context.parent.thread_id})",
            render_context(context.parent, tz),
            "",
        ]
    lines.append(f"# {context.title} ({context.thread_id}, {context.thread_type.value}; times {tz})")
    if context.thread_context:
        lines += ["## Thread context", context.thread_context]
    lines.append("## History, oldest first")
    lines += [item_line(item, tz) for item in context.items]
    if context.cut:
        lines.append(f"({context.cut})")
    return "\n".join(lines)
