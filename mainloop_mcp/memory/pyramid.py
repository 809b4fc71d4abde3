"""Building and refreshing summaries: days from messages, weeks from days, months from weeks.

A summary is built when something needs it (context assembly, zoom, compaction) and rebuilt
when it is stale. Coarser summaries read only the finer summaries, so a month costs the same
however many messages it holds. A failing summariser raises before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from mainloop_mcp.memory.periods import Period
from mainloop_mcp.memory.summariser import ExtractiveSummariser, Summariser, SummariserFailed, SummaryRequest
from mainloop_mcp.memory.tokens import clip_to_tokens, estimate_tokens
from mainloop_mcp.model import MAX_PAGE_SIZE, Clock, Granularity, Message, NewSummary, Order, Summary, Thread, utc_now
from mainloop_mcp.store.base import MemoryStore


@dataclass
class Pyramid:
    """The memory of every thread in one store, bucketed in one time zone."""

    store: MemoryStore
    tz: ZoneInfo
    summariser: Summariser = field(default_factory=ExtractiveSummariser)
    clock: Clock = utc_now
    built: int = 0  # summaries built by this object, for compaction reports

    async def messages_in(self, thread_id: str, period: Period) -> list[Message]:
        """Every message of a period, oldest first (used to build a daily summary)."""
        messages: list[Message] = []
        cursor = None
        while True:
            page = await self.store.read_messages(
                thread_id,
                limit=MAX_PAGE_SIZE,
                cursor=cursor,
                order=Order.OLDEST,
                since=period.start(self.tz),
                until=period.end(self.tz),
            )
            messages += page.messages
            if page.next_cursor is None:
                return messages
            cursor = page.next_cursor

    async def stored(self, thread_id: str, periods: list[Period]) -> dict[Period, Summary]:
        """The stored summaries of `periods` (fresh or stale), one query per granularity."""
        found: dict[Period, Summary] = {}
        for granularity in {p.granularity for p in periods}:
            mine = [p for p in periods if p.granularity is granularity]
            since, until = min(p.start(self.tz) for p in mine), max(p.end(self.tz) for p in mine)
            by_start = {p.start(self.tz): p for p in mine}
            for s in await self.store.get_summaries(thread_id, granularity, since, until):
                if s.period_start in by_start:
                    found[by_start[s.period_start]] = s
        return found

    async def resolve(self, thread: Thread, periods: list[Period]) -> dict[Period, Summary]:
        """Current summaries of `periods`, building missing or stale ones; periods without messages
        are left out. Stored fresh summaries cost one query per granularity, nothing more."""
        found = await self.stored(thread.id, periods)
        missing = [p for p in periods if p not in found]
        ranges = [(p.start(self.tz), p.end(self.tz)) for p in missing]
        counts = await self.store.count_messages(thread.id, ranges) if ranges else []
        empty = {p for p, n in zip(missing, counts, strict=True) if n == 0}
        result: dict[Period, Summary] = {}
        for p in periods:
            if p in empty:
                continue
            known = found.get(p)
            result[p] = known if known is not None and not known.stale else await self.build(thread, p)
        return result

    async def summary(self, thread: Thread, period: Period) -> Summary | None:
        return (await self.resolve(thread, [period])).get(period)

    async def build(self, thread: Thread, period: Period) -> Summary:
        """Make and store the summary of one period (its finer summaries first, when needed)."""
        if period.granularity is Granularity.DAY:
            messages = await self.messages_in(thread.id, period)
            sources = [f"{m.role.value}: {m.content}" for m in messages]
            count = len(messages)
        else:
            children = await self.resolve(thread, period.children())
            ordered = sorted(children.items())
            sources = [f"{p.label}: {s.content}" for p, s in ordered]
            count = sum(s.source_message_count for _, s in ordered)
        request = SummaryRequest(thread.title, period.label, period.granularity, sources)
        try:
            content = clip_to_tokens(await self.summariser.summarise(request), request.token_limit)
        except SummariserFailed:
            raise
        except Exception as exc:
            raise SummariserFailed(
                f"the {self.summariser.name} summariser failed on {period.label} of thread {thread.id}: {exc}; "
                "the previous summary is kept"
            ) from exc
        stored = await self.store.put_summary(
            NewSummary(
                thread_id=thread.id,
                granularity=period.granularity,
                period_start=period.start(self.tz),
                period_end=period.end(self.tz),
                content=content,
                source_message_count=count,
                token_count=estimate_tokens(content),
                summariser=self.summariser.name,
            )
        )
        self.built += 1
        return stored

    def now(self) -> datetime:
        return self.clock()
