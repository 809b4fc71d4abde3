"""Forgiving arguments: a thread by id, title or "main"; times like `yesterday` or `7d`; enums in any case."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from mainloop_mcp.errors import InvalidInput, NotFound
from mainloop_mcp.memory.periods import Period, day, month_of, week_of
from mainloop_mcp.model import Thread, ThreadFilter, ThreadStatus
from mainloop_mcp.store import Store
from mainloop_mcp.store.views import threads_where

CHOICES_SHOWN = 5
_AGO = re.compile(r"^(\d{1,5})\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# On an enum or Literal type: take its values in any case ("Project", "TASK").
ANY_CASE = BeforeValidator(_lower)


ThreadRef = Annotated[str, Field(description='id, title or "main"')]
OptionalThreadRef = Annotated[str | None, Field(description='id, title or "main"')]
TimeArg = Annotated[
    str | None,
    Field(description="a date, yesterday, 7d, or ISO"),
]
NewThreadType = Annotated[Literal["project", "task"], ANY_CASE]
ClientRole = Annotated[Literal["user", "assistant", "agent"], ANY_CASE]


async def all_threads(store: Store, status: ThreadStatus | None = None) -> list[Thread]:
    return await threads_where(store, ThreadFilter(status=status))


async def resolve_thread(store: Store, ref: str) -> Thread:
    """The thread `ref` names: "main", an id, or an unambiguous title (exact, else a unique part)."""
    wanted = ref.strip()
    if wanted.lower() == "main":
        return await store.main_thread()
    try:
        return await store.get_thread(wanted)
    except NotFound as not_an_id:
        if wanted.startswith("thr_") or not wanted:
            raise
        missing = not_an_id
    threads = await all_threads(store)
    key = wanted.casefold()
    exact = [t for t in threads if t.title.casefold() == key]
    found = exact or [t for t in threads if key and key in t.title.casefold()]
    active = [t for t in found if t.status is ThreadStatus.ACTIVE]
    if len(found) > 1 and len(active) == 1:
        found = active
    if len(found) == 1:
        return found[0]
    if not found:
        raise missing
    shown = "; ".join(f'{t.id} "{t.title}"' for t in found[:CHOICES_SHOWN])
    more = f" and {len(found) - CHOICES_SHOWN} more" if len(found) > CHOICES_SHOWN else ""
    raise InvalidInput(f"{len(found)} threads match {ref[:80]!r}: {shown}{more}; pass the id")


async def resolve_optional(store: Store, ref: str | None) -> Thread | None:
    return None if ref is None else await resolve_thread(store, ref)


def parse_time(name: str, text: str | None, tz: tzinfo, now: datetime) -> datetime | None:
    """A point in time from the forms people type; a bare date is local midnight in the hub's zone."""
    if text is None:
        return None
    s = text.strip().lower()
    today = now.astimezone(tz).date()
    if s in ("today", "now"):
        return now if s == "now" else _midnight(today, tz)
    if s == "yesterday":
        return _midnight(today - timedelta(days=1), tz)
    if m := _AGO.match(s):
        return now - timedelta(**{_UNITS[m[2]]: int(m[1])})
    try:
        if len(s) == 10:
            return _midnight(date.fromisoformat(s), tz)
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise InvalidInput(
            f"{name} {text[:60]!r} is not a time; pass 2026-11-27, today, yesterday, 7d, 12h or ISO 8601"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


_NAMED_PERIODS: dict[str, Callable[[date], Period]] = {
    "today": day,
    "yesterday": lambda d: day(d - timedelta(days=1)),
    "this week": week_of,
    "last week": lambda d: week_of(d - timedelta(days=7)),
    "this month": month_of,
    "last month": lambda d: month_of(month_of(d).first_day - timedelta(days=1)),
}


def period_label(text: str, tz: tzinfo, now: datetime) -> str:
    """A period as people name it (today, yesterday, this/last week, this/last month) -> its label;
    anything else is passed on as written (parse_period explains what it takes)."""
    named = _NAMED_PERIODS.get(" ".join(text.lower().split()))
    return named(now.astimezone(tz).date()).label if named else text


def _midnight(d: date, tz: tzinfo) -> datetime:
    return datetime.combine(d, time(), tzinfo=tz)


PAGE_CLIENT = "mainloop-web"  # the phone page's clientInfo name: the person typing


def client_name(ctx: Any) -> str | None:
    """The connected client's clientInfo name (e.g. claude-code), when it sent one."""
    try:
        params = ctx.session.client_params
    except (AttributeError, LookupError, RuntimeError):
        return None
    info = getattr(params, "client_info", None)
    name = getattr(info, "name", None)
    return name[:80] if isinstance(name, str) and name else None
