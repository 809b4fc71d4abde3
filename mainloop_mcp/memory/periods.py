"""Calendar periods in the user's time zone: days, ISO weeks, months; parsing and splitting.

A period is a local calendar span [start, end); its instants are computed in the configured zone,
so a day is a local day even across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import Granularity

PERIOD_EXAMPLES = "a month like 2026-11, an ISO week like 2026-W47, or a day like 2026-11-24"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"time zone {name!r} is unknown; use an IANA name such as UTC or Europe/Berlin") from exc


@dataclass(frozen=True, order=True)
class Period:
    """One calendar day, ISO week or month, identified by its first local date."""

    first_day: date
    granularity: Granularity

    @property
    def last_day_exclusive(self) -> date:
        if self.granularity is Granularity.DAY:
            return self.first_day + timedelta(days=1)
        if self.granularity is Granularity.WEEK:
            return self.first_day + timedelta(days=7)
        return _next_month(self.first_day)

    @property
    def label(self) -> str:
        if self.granularity is Granularity.DAY:
            return self.first_day.isoformat()
        if self.granularity is Granularity.WEEK:
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first_day:%Y-%m}"

    def start(self, tz: ZoneInfo) -> datetime:
        return local_midnight(self.first_day, tz)

    def end(self, tz: ZoneInfo) -> datetime:
        return local_midnight(self.last_day_exclusive, tz)

    def children(self) -> list[Period]:
        """The next finer pieces: a week's days; a month's whole ISO weeks plus its edge days.

        ISO weeks straddle month ends, so a month splits into the weeks that lie wholly inside
        it and single days for the rest; the pieces tile the month without overlap.
        """
        if self.granularity is Granularity.DAY:
            return []
        if self.granularity is Granularity.WEEK:
            return [day(self.first_day + timedelta(days=i)) for i in range(7)]
        return tile(self.first_day, self.last_day_exclusive, Granularity.WEEK)


def local_midnight(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)


def local_date(t: datetime, tz: ZoneInfo) -> date:
    return t.astimezone(tz).date()


def day(d: date) -> Period:
    return Period(d, Granularity.DAY)


def week_of(d: date) -> Period:
    return Period(d - timedelta(days=d.weekday()), Granularity.WEEK)


def month_of(d: date) -> Period:
    return Period(d.replace(day=1), Granularity.MONTH)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def tile(first: date, last_exclusive: date, coarsest: Granularity) -> list[Period]:
    """Cover [first, last_exclusive) with whole periods, coarsest first where they fit, then days."""
    pieces: list[Period] = []
    d = first
    while d < last_exclusive:
        if coarsest is Granularity.MONTH and d.day == 1 and _next_month(d) <= last_exclusive:
            pieces.append(month_of(d))
        elif (
            coarsest in (Granularity.MONTH, Granularity.WEEK)
            and d.weekday() == 0
            and (d + timedelta(days=7) <= last_exclusive)
        ):
            pieces.append(week_of(d))
        else:
            pieces.append(day(d))
        d = pieces[-1].last_day_exclusive
    return pieces


FIRST_YEAR, LAST_YEAR = 2, 9998


def parse_period(text: str) -> Period:
    """`2026-11`, `2026-W47` or `2026-11-24` -> a Period; anything else is a clear error."""
    s = text.strip()
    period = None
    try:
        if m := _DAY.match(s):
            period = day(date(int(m[1]), int(m[2]), int(m[3])))
        elif m := _WEEK.match(s):
            period = Period(date.fromisocalendar(int(m[1]), int(m[2]), 1), Granularity.WEEK)
        elif m := _MONTH.match(s):
            period = month_of(date(int(m[1]), int(m[2]), 1))
    except ValueError:
        pass
    if period is None:
        raise InvalidInput(f"period {text!r} is not a calendar period; use {PERIOD_EXAMPLES}")
    if not FIRST_YEAR <= period.first_day.year <= LAST_YEAR:
        # Instants at the calendar's very edges overflow once shifted by a time zone.
        raise InvalidInput(f"period {text!r} is outside the years {FIRST_YEAR}..{LAST_YEAR} that mainloop handles")
    return period
