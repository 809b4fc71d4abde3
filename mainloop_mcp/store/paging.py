"""Keyset paging, once for every listing of every backend.

A listing fetches `limit + 1` rows after the position a cursor names; the extra row only says
whether there is a next page. A cursor is the listing's kind plus the position of the page's last
row, base64 JSON, and it is checked on the way back in (kind and the type of every position value),
so a forged cursor is a clear `InvalidInput`, never a database or conversion error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.store.records import Column, Row, same_name

R = TypeVar("R")
T = TypeVar("T")
K = TypeVar("K")
RowT = TypeVar("RowT", bound=Row)
MAX_CURSOR_CHARS = 2048  # ours are under 200; a longer one is forged


@dataclass(frozen=True)
class Keyset:
    """One listing's cursor: its kind, and the fields (with their types) that place a row in its order."""

    kind: str
    fields: tuple[str, ...]
    shape: tuple[type, ...]

    def encode(self, position: Sequence[Any]) -> str:
        raw = json.dumps({"k": self.kind, "p": list(position)}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        """The position a cursor made by `encode` names; anything else is a clear error."""
        try:
            if len(cursor) <= MAX_CURSOR_CHARS:
                data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
                position = data["p"]
                if data["k"] == self.kind and isinstance(position, list) and self._fits(position):
                    return position
        except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):  # RecursionError: deep nesting
            pass
        raise InvalidInput(
            f"cursor {cursor[:40]!r} is not a {self.kind} cursor from this server; pass the next_cursor it gave"
        )

    def after(self, cursor: str | None) -> list[Any] | None:
        return None if cursor is None else self.decode(cursor)

    def _fits(self, values: list[Any]) -> bool:
        return len(values) == len(self.shape) and all(type(v) is t for v, t in zip(values, self.shape, strict=True))

    def cut(self, rows: list[RowT], limit: int, column: Column = same_name) -> tuple[list[RowT], str | None]:
        """Rows fetched with LIMIT limit + 1 -> (the page's rows, the next cursor or None).

        `column(field)` is what the backend's query calls a field (BigQuery reads times as `*_us`)."""
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], self.encode([last[column(f)] for f in self.fields])


THREADS = Keyset("threads", ("created_at", "id"), (int, str))
RUNS = Keyset("runs", ("created_at", "id"), (int, str))


def messages_keyset(order_value: str) -> Keyset:
    """Messages in post order; newest-first and oldest-first cursors are not interchangeable."""
    return Keyset(f"messages:{order_value}", ("created_at", "seq"), (int, int))


class Page(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


P = TypeVar("P", bound=Page)


async def read_all(fetch: Callable[[str | None], Awaitable[P]], items: Callable[[P], list[T]]) -> list[T]:
    """Every item of a cursor-paged listing: `fetch(cursor)` is one page, `items(page)` its items."""
    found: list[T] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        found += items(page)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


async def pages_after(
    fetch: Callable[[K | None], Awaitable[list[R]]], position: Callable[[R], K]
) -> AsyncIterator[list[R]]:
    """Pages of a keyset scan: `fetch(after)` returns the rows after a position (None: from the start)."""
    after: K | None = None
    while rows := await fetch(after):
        yield rows
        after = position(rows[-1])
