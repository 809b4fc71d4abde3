"""Compaction: build every missing or stale summary of finished periods, and post each child
thread's daily summaries into its parent (once per child per day, by idempotency key).

Run by `mainloop compact` (e.g. nightly) or the `compact` tool. Children are compacted before
their parents, so a parent's summaries already include the children's posted summaries.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pydantic import BaseModel

from mainloop_mcp.errors import Conflict
from mainloop_mcp.memory.periods import Period, local_date, month_of, tile
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import Granularity, NewMessage, Role, Summary, Thread, ThreadFilter, ThreadType
from mainloop_mcp.store.paging import read_all

log = logging.getLogger(__name__)
SYNC_KEY = "sync:{child}:{day}"
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


async def compact_thread(pyr: Pyramid, thread: Thread) -> tuple[int, int]:
    """Summaries built and sync messages posted for one thread."""
    span = await pyr.store.message_span(thread.id)
    if span is None:
        return 0, 0
    today = Period(local_date(pyr.now(), pyr.tz), Granularity.DAY)
    first = Period(local_date(span[0], pyr.tz), Granularity.DAY)
    if first.first_day >= today.first_day:
        return 0, 0  # nothing before today is finished yet: a thread that began today has no periods to compact
    built_before = pyr.built
    for period in finished_periods(pyr, first, today):
        await pyr.resolve(thread, [period])
    days = await pyr.store.get_summaries(thread.id, Granularity.DAY, first.start(pyr.tz), today.start(pyr.tz))
    posted = await sync_to_parent(pyr, thread, days) if thread.parent_id else 0
    return pyr.built - built_before, posted


def sync_message(pyr: Pyramid, child: Thread, day: Summary) -> NewMessage:
    """The parent-thread message carrying one child day; timed at the day's last microsecond."""
    label = local_date(day.period_start, pyr.tz).isoformat()
    assert child.parent_id is not None
    return NewMessage(
        thread_id=child.parent_id,
        role=Role.SUMMARY,
        content=f'Daily summary of {child.thread_type.value} "{child.title}" ({child.id}) for {label}:\n{day.content}',
        idempotency_key=SYNC_KEY.format(child=child.id, day=label),
        metadata={"source_thread_id": child.id, "period": label, "granularity": "day"},
        created_at=day.period_end - timedelta(microseconds=1),
    )


async def sync_to_parent(pyr: Pyramid, child: Thread, days: list[Summary]) -> int:
    """Post the child's daily summaries into its parent; a day already posted is skipped.

    The first post of a day wins: if that day's summary was rebuilt later, the key is taken
    and the store answers Conflict, which here means "already synced".
    """
    posted = 0
    batch = [sync_message(pyr, child, d) for d in days if not d.stale]
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
    """Compact one thread, or every thread (children first).

    Over every thread, one thread's failure (a failing summariser, a bad row) is logged and reported,
    and the others are still compacted: a nightly run must not stop at the first broken thread.
    """
    if thread_id is not None:
        threads = [await pyr.store.get_thread(thread_id)]
    else:
        threads = await _all_threads(pyr)
        threads.sort(key=lambda t: DEPTH[t.thread_type])
    report = CompactReport(threads=len(threads), summaries_built=0, sync_messages_posted=0)
    for thread in threads:
        try:
            built, posted = await compact_thread(pyr, thread)
        except Exception as exc:
            if thread_id is not None:
                raise
            log.exception("compaction of thread %s failed", thread.id)
            report.failed.append(ThreadFailure(thread_id=thread.id, title=thread.title, error=str(exc) or repr(exc)))
            continue
        report.summaries_built += built
        report.sync_messages_posted += posted
    return report


async def _all_threads(pyr: Pyramid) -> list[Thread]:
    return await read_all(
        lambda cursor: pyr.store.list_threads(ThreadFilter(status=None), limit=500, cursor=cursor),
        lambda page: page.threads,
    )
