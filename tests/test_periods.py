"""Calendar periods: parsing, labels, ISO weeks, tiling months, local days across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.memory.periods import local_date, parse_period, tile, zone
from mainloop_mcp.memory.tokens import clip_to_tokens, estimate_tokens
from mainloop_mcp.model import Granularity


@pytest.mark.parametrize(
    ("text", "granularity", "first", "last_exclusive"),
    [
        ("2026-11", Granularity.MONTH, date(2026, 11, 1), date(2026, 12, 1)),
        ("2026-12", Granularity.MONTH, date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-W47", Granularity.WEEK, date(2026, 11, 16), date(2026, 11, 23)),
        ("2026-W53", Granularity.WEEK, date(2026, 12, 28), date(2027, 1, 4)),
        ("2026-11-24", Granularity.DAY, date(2026, 11, 24), date(2026, 11, 25)),
    ],
)
def test_periods_parse_and_label_round_trip(
    text: str, granularity: Granularity, first: date, last_exclusive: date
) -> None:
    p = parse_period(text)
    assert (p.granularity, p.first_day, p.last_day_exclusive, p.label) == (granularity, first, last_exclusive, text)


@pytest.mark.parametrize("text", ["", "2026", "2026-13", "2026-W54", "2025-W53", "2026-02-30", "nov", "2026-11-24T00"])
def test_bad_periods_are_refused_with_examples(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"is not a calendar period; use a month like 2026-11"):
        parse_period(text)


def test_a_month_tiles_into_whole_iso_weeks_and_edge_days() -> None:
    pieces = parse_period("2026-11").children()
    assert [p.label for p in pieces] == ["2026-11-01", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-11-30"]
    days = [d for p in pieces for d in (p.children() or [p])]
    assert [d.first_day for d in days] == [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]


def test_tile_prefers_the_coarsest_whole_period() -> None:
    months = [p.label for p in tile(date(2026, 10, 1), date(2026, 12, 2), Granularity.MONTH)]
    assert months == ["2026-10", "2026-11", "2026-12-01"]
    weeks = [p.label for p in tile(date(2026, 9, 27), date(2026, 10, 7), Granularity.WEEK)]
    assert weeks == ["2026-09-27", "2026-W40", "2026-10-05", "2026-10-06"]


def test_days_are_local_days_across_daylight_saving() -> None:
    berlin = zone("Europe/Berlin")
    spring = parse_period("2026-03-29")
    assert spring.end(berlin) - spring.start(berlin) == timedelta(hours=23)
    assert spring.start(berlin) == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert local_date(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), berlin) == date(2026, 3, 29)
    assert isinstance(berlin, ZoneInfo)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'Mars/Olympus' is unknown"):
        zone("Mars/Olympus")


def test_token_estimate_is_four_characters_a_token() -> None:
    assert estimate_tokens("") == 0 and estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2
    clipped = clip_to_tokens("word " * 100, 10)
    assert estimate_tokens(clipped) <= 10 and clipped.endswith("…")
