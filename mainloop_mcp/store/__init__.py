"""Stores chosen by URL; backends are imported only when chosen, so optional extras stay optional."""

from __future__ import annotations

from mainloop_mcp.config import store_url_problem
from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import Clock, utc_now
from mainloop_mcp.store.base import Backend, Store

__all__ = ["Backend", "Store", "open_store"]


async def open_store(url: str, clock: Clock = utc_now) -> Backend:
    if url.startswith("sqlite:///"):
        from mainloop_mcp.store.sqlite.store import SqliteStore, path_from_url

        return await SqliteStore.open(path_from_url(url), clock=clock)
    if url.startswith("bigquery://"):
        try:
            from mainloop_mcp.store.bigquery.store import BigQueryStore
        except ImportError as exc:
            raise InvalidInput(
                f"the BigQuery store needs google-cloud-bigquery ({exc}); install it with "
                "`MAINLOOP_EXTRAS=bigquery scripts/setup` or use sqlite:///path"
            ) from None
        return await BigQueryStore.open(url, clock=clock)
    raise InvalidInput(store_url_problem(url) or f"no store for URL {url!r}")
