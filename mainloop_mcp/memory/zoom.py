"""Zoom: expand a period into the next finer level (month -> weeks -> days -> messages)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.memory.assembly import ContextItem, message_item, summary_item
from mainloop_mcp.memory.periods import Period, parse_period, tile
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import Granularity, Order

FINER = {Granularity.MONTH: Granularity.WEEK, Granularity.WEEK: Granularity.DAY, Granularity.DAY: Granularity.MESSAGE}
RANK = {Granularity.MESSAGE: 0, Granularity.DAY: 1, Granularity.WEEK: 2, Granularity.MONTH: 3}


class ZoomResult(BaseModel):
    thread_id: str
    period: str
    granularity: Granularity = Field(description="The granularity of the period that was zoomed into")
    level: Granularity = Field(description="The granularity of the returned items")
    items: list[ContextItem] = Field(description="Oldest first; periods without messages are left out")
    next_cursor: str | None = Field(default=None, description="For messages: pass back as cursor for the next page")


def pieces(period: Period, level: Granularity) -> list[Period]:
    """The periods at `level` that tile `period` (a month's weeks include its edge days)."""
    if level is Granularity.DAY:
        return tile(period.first_day, period.last_day_exclusive, Granularity.DAY)
    return period.children()


async def zoom(
    pyr: Pyramid,
    thread_id: str,
    period_label: str,
    level: Granularity | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ZoomResult:
    period = parse_period(period_label)
    level = level or FINER[period.granularity]
    if RANK[level] >= RANK[period.granularity]:
        raise InvalidInput(
            f"level {level.value!r} is not finer than the {period.granularity.value} {period.label}; "
            f"use {', '.join(g.value for g in RANK if RANK[g] < RANK[period.granularity])}"
        )
    thread = await pyr.store.get_thread(thread_id)
    result = ZoomResult(thread_id=thread.id, period=period.label, granularity=period.granularity, level=level, items=[])
    if level is Granularity.MESSAGE:
        page = await pyr.store.read_messages(
            thread.id,
            limit=limit,
            cursor=cursor,
            order=Order.OLDEST,
            since=period.start(pyr.tz),
            until=period.end(pyr.tz),
        )
        result.items = [message_item(m, pyr) for m in page.messages]
        result.next_cursor = page.next_cursor
        return result
    if cursor is not None:
        raise InvalidInput("cursor applies only to level 'message'; summaries come in one page")
    found = await pyr.resolve(thread, pieces(period, level))
    result.items = [summary_item(p, s) for p, s in sorted(found.items())]
    return result
