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
from mainloop_mcp.memory.summariser import ExtractiveSummariser, Source, Summariser, SummariserFailed, SummaryRequest
from mainloop_mcp.memory.tokens import clip_to_tokens, estimate_tokens
from mainloop_mcp.model import MAX_PAGE_SIZE, Clock, Granularity, Message, NewSummary, Order, Summary, Thread, utc_now
from mainloop_mcp.store.base import MemoryStore
from mainloop_mcp.store.paging import read_all


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
        return await read_all(
            lambda cursor: self.store.read_messages(
                thread_id,
                limit=MAX_PAGE_SIZE,
                cursor=cursor,
                order=Order.OLDEST,
                since=period.start(self.tz),
                until=period.end(self.tz),
            ),
            lambda page: [m for m in page.messages if not m.metadata.get("superseded_by")],
        )

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

    async def plan(self, thread_id: str, periods: list[Period]) -> dict[Period, Summary | None]:
        """For each period with messages: its fresh stored summary, or None when it must be built.
        Periods without messages are left out. Costs one query per granularity plus one count."""
        found = await self.stored(thread_id, periods)
        missing = [p for p in periods if p not in found]
        ranges = [(p.start(self.tz), p.end(self.tz)) for p in missing]
        counts = await self.store.count_messages(thread_id, ranges) if ranges else []
        empty = {p for p, n in zip(missing, counts, strict=True) if n == 0}
        plan: dict[Period, Summary | None] = {}
        for p in periods:
            if p not in empty:
                known = found.get(p)
                plan[p] = known if known is not None and not known.stale else None
        return plan

    async def resolve(self, thread: Thread, periods: list[Period]) -> dict[Period, Summary]:
        """Current summaries of `periods`, building missing or stale ones; empty periods are left out.
        Everything built here is written in one transaction, after every summariser call succeeded."""
        pending: list[NewSummary] = []
        drafts = await self._resolve(thread, periods, pending)
        return await self._save(drafts, pending)

    async def summary(self, thread: Thread, period: Period) -> Summary | None:
        return (await self.resolve(thread, [period])).get(period)

    async def build(self, thread: Thread, period: Period) -> Summary:
        """Make and store the summary of one period (its missing finer summaries too)."""
        pending: list[NewSummary] = []
        draft = await self._compose(thread, period, pending)
        return (await self._save({period: draft}, pending))[period]

    async def _save(self, drafts: dict[Period, NewSummary], pending: list[NewSummary]) -> dict[Period, Summary]:
        stored = await self.store.put_summaries(pending) if pending else []
        self.built += len(stored)
        by_key = {(s.granularity, s.period_start): s for s in stored}
        return {p: d if isinstance(d, Summary) else by_key[(d.granularity, d.period_start)] for p, d in drafts.items()}

    async def _resolve(
        self, thread: Thread, periods: list[Period], pending: list[NewSummary]
    ) -> dict[Period, NewSummary]:
        plan = await self.plan(thread.id, periods)
        return {p: s if s is not None else await self._compose(thread, p, pending) for p, s in plan.items()}

    async def _compose(self, thread: Thread, period: Period, pending: list[NewSummary]) -> NewSummary:
        """Summarise one period from its messages (a day) or its finer summaries; queue the result."""
        if period.granularity is Granularity.DAY:
            messages = await self.messages_in(thread.id, period)
            sources = [Source(self.message_label(m), m.content) for m in messages]
            count = len(messages)
        else:
            children = sorted((await self._resolve(thread, period.children(), pending)).items())
            sources = [Source(p.label, s.content) for p, s in children]
            count = sum(s.source_message_count for _, s in children)
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
        new = NewSummary(
            thread_id=thread.id,
            granularity=period.granularity,
            period_start=period.start(self.tz),
            period_end=period.end(self.tz),
            content=content,
            source_message_count=count,
            token_count=estimate_tokens(content),
            summariser=self.summariser.name,
        )
        pending.append(new)
        return new

    def message_label(self, m: Message) -> str:
        """How a message is cited in a summary: its local date and time, and who spoke."""
        return f"{m.created_at.astimezone(self.tz):%Y-%m-%d %H:%M} {m.role.value}"

    def now(self) -> datetime:
        return self.clock()
