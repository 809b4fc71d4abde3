"""The search tool: full-text (BM25) search across threads, fused with meaning when semantic search is on."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mainloop_mcp.hub import HubDep
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.model import ThreadType
from mainloop_mcp.search.fulltext import SearchResult
from mainloop_mcp.search.hybrid import MODE_HELP, SearchMode
from mainloop_mcp.search.hybrid import search as search_hybrid
from mainloop_mcp.tools.args import ANY_CASE, OptionalThreadRef, TimeArg, parse_time, resolve_optional
from mainloop_mcp.tools.spec import reads


async def search(
    query: Annotated[
        str,
        Field(description='Any words or a question; "exact phrase", +required, -excluded, prefix* also work'),
    ],
    hub: HubDep,
    thread_id: Annotated[OptionalThreadRef, Field(description="Only this thread and its tasks")] = None,
    thread_type: Annotated[
        Annotated[ThreadType, ANY_CASE] | None, Field(description="Only threads of this type")
    ] = None,
    since: TimeArg = None,
    until: TimeArg = None,
    limit: int = 20,
    summaries: Annotated[bool, Field(description="Don't hold back summaries")] = False,
    mode: Annotated[Annotated[SearchMode, ANY_CASE], Field(description=MODE_HELP)] = SearchMode.AUTO,
) -> SearchResult:
    """Find what was said (messages, summaries, titles), best first, with thread and period for zoom."""
    thread = await resolve_optional(hub.store, thread_id)
    tz, now = zone(hub.settings.timezone), hub.clock()
    return await search_hybrid(
        hub.pyramid(),
        query,
        hub.semantic,
        mode,
        thread_id=thread.id if thread else None,
        thread_type=thread_type,
        since=parse_time("since", since, tz, now),
        until=parse_time("until", until, tz, now),
        limit=limit,
        summaries=summaries,
    )


TOOLS = [reads(search, "Search messages")]
