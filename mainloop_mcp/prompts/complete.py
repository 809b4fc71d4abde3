"""completion/complete: thread names and periods for prompt arguments and resource templates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mcp.types import Completion, CompletionArgument, PromptReference, ResourceTemplateReference

from mainloop_mcp.hub import Hub
from mainloop_mcp.memory.periods import local_date, zone
from mainloop_mcp.model import ThreadStatus
from mainloop_mcp.tools.args import all_threads

MAX_VALUES = 100  # the spec's cap on one completion answer
THREAD_ARGUMENTS = frozenset({"thread_id", "id"})
PERIOD_ARGUMENTS = frozenset({"period", "day"})


async def complete(hub: Hub, ref: Any, argument: CompletionArgument) -> Completion | None:
    """Suggestions for one argument; None for arguments this hub has nothing to offer for."""
    if not isinstance(ref, PromptReference | ResourceTemplateReference):
        return None
    typed = argument.value.strip().casefold()
    if argument.name in THREAD_ARGUMENTS:
        by_id = typed.startswith("thr_") or isinstance(ref, ResourceTemplateReference)
        threads = await all_threads(hub.store, ThreadStatus.ACTIVE)
        names = [t.id if by_id else ("main" if t.parent_id is None else t.title) for t in threads]
        values = [n for n in names if typed in n.casefold()]
    elif argument.name in PERIOD_ARGUMENTS:
        values = [p for p in recent_periods(hub, days_only=argument.name == "day") if p.casefold().startswith(typed)]
    else:
        return None
    return Completion(values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES)


def recent_periods(hub: Hub, days_only: bool) -> list[str]:
    """today, yesterday, the last two weeks' days, then (for periods) recent ISO weeks and months."""
    today = local_date(hub.clock(), zone(hub.settings.timezone))
    days = [(today - timedelta(days=n)).isoformat() for n in range(14)]
    if days_only:
        return ["today", "yesterday", *days]
    weeks = list(
        dict.fromkeys(
            f"{d.isocalendar().year}-W{d.isocalendar().week:02d}"
            for d in (today - timedelta(weeks=n) for n in range(8))
        )
    )
    months = list(dict.fromkeys(f"{d.year}-{d.month:02d}" for d in (today - timedelta(days=30 * n) for n in range(12))))
    return ["today", "yesterday", *days, *weeks, *months]
