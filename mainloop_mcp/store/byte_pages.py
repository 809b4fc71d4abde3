"""Pages bounded by bytes as well as by count, so no answer outgrows what MCP clients accept.

Works over any paged store call without knowing its cursor: fetch the page asked for; if its items are
over the byte budget, fetch again with the count that fits, so the store's own cursor points right
after the last item returned. The first item is always returned (one message always fits a page, see
model.MAX_CONTENT_BYTES). The store's paging helper can absorb this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel

from mainloop_mcp.model import PAGE_BUDGET_BYTES

P = TypeVar("P")


def fitting(items: Sequence[BaseModel], budget: int = PAGE_BUDGET_BYTES) -> int:
    """How many leading items fit in `budget` bytes of JSON (at least one)."""
    used = 0
    for count, item in enumerate(items):
        used += len(item.model_dump_json().encode("utf-8", "surrogatepass")) + 1
        if used > budget and count > 0:
            return count
    return len(items)


async def fit_page(
    fetch: Callable[[int], Awaitable[P]],
    items_of: Callable[[P], Sequence[BaseModel]],
    limit: int,
    budget: int = PAGE_BUDGET_BYTES,
) -> P:
    """`fetch(limit)`, or `fetch(n)` for the n < limit items that fit the budget."""
    page = await fetch(limit)
    items = items_of(page)
    count = fitting(items, budget)
    return page if count == len(items) else await fetch(count)
