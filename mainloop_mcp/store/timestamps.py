"""How the stores keep instants: integer microseconds since the epoch, UTC (SQLite columns, BigQuery UNIX_MICROS)."""

from __future__ import annotations

from datetime import UTC, datetime


def to_micros(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def maybe_from_micros(us: int | None) -> datetime | None:
    return None if us is None else from_micros(us)


def maybe_to_micros(t: datetime | None) -> int | None:
    return None if t is None else to_micros(t)
