"""The search tool: full-text (BM25) search across threads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from mainloop_mcp.hub import hub_of
from mainloop_mcp.model import MAX_PAGE_SIZE, ThreadType
from mainloop_mcp.search.fulltext import SearchResult
from mainloop_mcp.search.hybrid import MODE_HELP, SearchMode
from mainloop_mcp.search.hybrid import search as search_hybrid


async def search(
    query: Annotated[str, Field(description="Words to find; every word must match")],
    ctx: Context,
    thread_id: Annotated[str | None, Field(description="Only this thread")] = None,
    thread_type: Annotated[ThreadType | None, Field(description="Only threads of this type")] = None,
    since: Annotated[datetime | None, Field(description="Only at or after this time (ISO 8601)")] = None,
    until: Annotated[datetime | None, Field(description="Only before this time (ISO 8601)")] = None,
    limit: Annotated[int, Field(description=f"Most matches, 1 to {MAX_PAGE_SIZE}")] = 20,
    mode: Annotated[SearchMode, Field(description=MODE_HELP)] = SearchMode.AUTO,
) -> SearchResult:
    """Search messages and summaries across threads, best matches first (BM25). Each match names its
    thread and period, ready for zoom."""
    hub = hub_of(ctx)
    return await search_hybrid(
        hub.pyramid(),
        query,
        hub.semantic,
        mode,
        thread_id=thread_id,
        thread_type=thread_type,
        since=since,
        until=until,
        limit=limit,
    )


TOOLS = [search]
