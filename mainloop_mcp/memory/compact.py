"""Compaction: build every missing or stale summary of finished periods, and post each parent one
digest a day of its children's day summaries (once per parent per day, by idempotency key).

Run by `mainloop compact` (e.g. nightly) or the `compact` tool. Children are compacted before
their parents, so a parent's summaries already include the digests of its children.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from pydantic import BaseModel

from mainloop_mcp.errors import Conflict
from mainloop_mcp.memory.periods import Period, local_date, month_of, tile
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import Granularity, NewMessage, Role, Summary, Thread, ThreadFilter, ThreadType
from mainloop_mcp.store.views import threads_where

log = logging.getLogger(__name__)
DIGEST_KEY = "digest:{parent}:{day}"
SYNC_BATCH = 500
DEPTH = {ThreadType.TASK: 0, ThreadType.PROJECT: 1, ThreadType.MAIN: 2}


class ThreadFailure(BaseModel):
    thread_id: str
    title: str
    error: str


class CompactReport(BaseModel):
    threads: int
    summaries_built: int
    sync_messages_posted: int
    failed: list[ThreadFailure] = []


def finished_periods(pyr: Pyramid, first_day: Period, today: Period) -> list[Period]:
    """Whole months, then whole weeks and days of the current month, that end before today."""
    start = month_of(first_day.first_day).first_day
    this_month = month_of(today.first_day).first_day
    months = tile(start, this_month, Granularity.MONTH) if start < this_month else []
    return months + tile(max(start, this_month), today.first_day, Granularity.WEEK)


async def compact_thread(pyr: Pyramid, thread: Thread) -> tuple[int, list[Summary]]:
    """Summaries built for one thread, and its finished day summaries (for the parent's digests)."""
    span = await pyr.store.message_span(thread.id)
    if span is None:
        return 0, []
    today = Period(local_date(pyr.now(), pyr.tz), Granularity.DAY)
    first = Period(local_date(span[0], pyr.tz), Granularity.DAY)
    if first.first_day >= today.first_day:
        return 0, []  # nothing before today is finished yet: a thread that began today has no periods to compact
    built_before = pyr.built
    for period in finished_periods(pyr, first, today):
        await pyr.resolve(thread, [period])
    days = await pyr.store.get_summaries(thread.id, Granularity.DAY, first.start(pyr.tz), today.start(pyr.tz))
    return pyr.built - built_before, [d for d in days if not d.stale]


def digest_message(pyr: Pyramid, parent_id: str, label: str, entries: list[tuple[Thread, Summary]]) -> NewMessage:
    """One parent-thread message carrying a day of all its children; timed at the day's last microsecond."""
    names = ", ".join(f'"{child.title}"' for child, _ in entries)
    parts = [f"Digest of {label} from {len(entries)} child thread{'s' if len(entries) > 1 else ''}: {names}"]
    parts += [f'### {child.thread_type.value} "{child.title}"\n{day.content}' for child, day in entries]
    return NewMessage(
        thread_id=parent_id,
        role=Role.SUMMARY,
        content="\n\n".join(parts),
        idempotency_key=DIGEST_KEY.format(parent=parent_id, day=label),
        metadata={
            "kind": "digest",
            "period": label,
            "granularity": "day",
            "children": [{"id": child.id, "title": child.title} for child, _ in entries],
        },
        created_at=entries[0][1].period_end - timedelta(microseconds=1),
    )


async def post_digests(pyr: Pyramid, parent_id: str, children: list[tuple[Thread, list[Summary]]]) -> int:
    """Post one digest per day into the parent, naming every child with a summary that day.

    The first post of a day wins: a day already digested keeps its digest (its key is taken, and the
    store answers Conflict for a digest that would now read differently, which here means "done").
    """
    by_day: dict[str, list[tuple[Thread, Summary]]] = defaultdict(list)
    for child, days in sorted(children, key=lambda c: c[0].title.casefold()):
        for day in days:
            by_day[local_date(day.period_start, pyr.tz).isoformat()].append((child, day))
    batch = [digest_message(pyr, parent_id, label, entries) for label, entries in sorted(by_day.items())]
    posted = 0
    for i in range(0, len(batch), SYNC_BATCH):
        chunk = batch[i : i + SYNC_BATCH]
        try:
            posted += await pyr.store.append_messages(chunk)
        except Conflict:
            for message in chunk:
                try:
                    posted += await pyr.store.append_messages([message])
                except Conflict:
                    continue
    return posted


async def compact(pyr: Pyramid, thread_id: str | None = None) -> CompactReport:
    """Compact one thread, or every thread (children first), posting each parent its daily digests.

    Over every thread, one thread's failure (a failing summariser, a bad row) is logged and reported,
    and the others are still compacted: a nightly run must not stop at the first broken thread.
    One thread alone: its parent gets digests from the day summaries its children already have.
    """
    everything = await _all_threads(pyr)
    threads = [await pyr.store.get_thread(thread_id)] if thread_id is not None else everything
    report = CompactReport(threads=len(threads), summaries_built=0, sync_messages_posted=0)
    for depth in sorted({DEPTH[t.thread_type] for t in threads}):
        compacted: dict[str, list[Summary]] = {}
        for thread in (t for t in threads if DEPTH[t.thread_type] == depth):
            try:
                built, compacted[thread.id] = await compact_thread(pyr, thread)
            except Exception as exc:
                if thread_id is not None:
                    raise
                log.exception("compaction of thread %s failed", thread.id)
                report.failed.append(
                    ThreadFailure(thread_id=thread.id, title=thread.title, error=str(exc) or repr(exc))
                )
                continue
            report.summaries_built += built
        parents = {t.parent_id for t in threads if t.id in compacted and t.parent_id is not None}
        for parent_id in sorted(parents):
            children = [t for t in everything if t.parent_id == parent_id]
            days = [(c, compacted[c.id] if c.id in compacted else await _finished_days(pyr, c)) for c in children]
            report.sync_messages_posted += await post_digests(pyr, parent_id, days)
    return report


async def _finished_days(pyr: Pyramid, thread: Thread) -> list[Summary]:
    today = Period(local_date(pyr.now(), pyr.tz), Granularity.DAY)
    span = await pyr.store.message_span(thread.id)
    if span is None:
        return []
    days = await pyr.store.get_summaries(thread.id, Granularity.DAY, span[0] - timedelta(days=1), today.start(pyr.tz))
    return [d for d in days if not d.stale]


async def _all_threads(pyr: Pyramid) -> list[Thread]:
    return await threads_where(pyr.store, ThreadFilter(status=None))
