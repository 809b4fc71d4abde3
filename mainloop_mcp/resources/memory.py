"""The memory resource: one period of one thread, its summary and the finer periods to zoom into."""

from __future__ import annotations

from datetime import datetime

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from mainloop_mcp.hub import hub_of
from mainloop_mcp.memory.periods import parse_period
from mainloop_mcp.memory.zoom import FINER, pieces
from mainloop_mcp.model import Granularity, Summary


class PeriodView(BaseModel):
    thread_id: str
    period: str
    granularity: Granularity
    start: datetime
    end: datetime
    summary: Summary | None = Field(description="Null when the period holds no messages")
    finer: list[str] = Field(description="Finer periods (memory://{thread_id}/{period}); empty for a day")


async def memory_resource(thread_id: str, period: str, ctx: Context) -> str:
    """The summary of one period of a thread (a month 2026-11, week 2026-W47 or day 2026-11-24), JSON."""
    pyr = hub_of(ctx).pyramid()
    p = parse_period(period)
    thread = await pyr.store.get_thread(thread_id)
    summary = await pyr.summary(thread, p)
    finer = [] if p.granularity is Granularity.DAY else [c.label for c in pieces(p, FINER[p.granularity])]
    return PeriodView(
        thread_id=thread.id,
        period=p.label,
        granularity=p.granularity,
        start=p.start(pyr.tz),
        end=p.end(pyr.tz),
        summary=summary,
        finer=finer,
    ).model_dump_json()


TEMPLATES = [("memory://{thread_id}/{period}", "memory", memory_resource)]
