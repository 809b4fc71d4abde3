"""Full-text search across threads: plain words in, ranked snippets with thread and period out."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.memory.periods import Period, local_date
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import Granularity, SearchHit, ThreadFilter, ThreadType
from mainloop_mcp.store.paging import read_all

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
_TERM = re.compile(r"\w+", re.UNICODE)


class Match(BaseModel):
    """A search hit with the period label to zoom into."""

    kind: str = Field(description="message or summary")
    id: str
    thread_id: str
    granularity: Granularity
    period: str = Field(description="Pass to zoom or memory://{thread_id}/{period}; for a message, its day")
    time: datetime = Field(description="The message's time, or the start of the summarised period")
    snippet: str = Field(description="Matching text; matched words are in [brackets]")
    score: float


class SearchResult(BaseModel):
    query: str
    matches: list[Match]


def terms_of(query: str) -> list[str]:
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query is {len(query)} characters; keep it under {MAX_QUERY_CHARS}")
    terms = _TERM.findall(query.lower())[:MAX_TERMS]
    if not terms:
        raise InvalidInput(f"query {query!r} has no words to search for; pass one or more words, e.g. 'deploy plan'")
    return terms


def match_of(hit: SearchHit, pyr: Pyramid) -> Match:
    granularity = Granularity.DAY if hit.granularity is Granularity.MESSAGE else hit.granularity
    first_day = local_date(hit.period_start, pyr.tz)
    return Match(
        kind=hit.kind,
        id=hit.id,
        thread_id=hit.thread_id,
        granularity=hit.granularity,
        period=Period(first_day, granularity).label,
        time=hit.period_start,
        snippet=hit.snippet,
        score=hit.score,
    )


async def thread_ids_for(pyr: Pyramid, thread_id: str | None, thread_type: ThreadType | None) -> list[str] | None:
    if thread_id is not None:
        thread = await pyr.store.get_thread(thread_id)
        if thread_type is not None and thread.thread_type is not thread_type:
            raise InvalidInput(f"thread {thread_id} is a {thread.thread_type.value}, not a {thread_type.value}")
        return [thread.id]
    if thread_type is None:
        return None
    threads = await read_all(
        lambda cursor: pyr.store.list_threads(
            ThreadFilter(thread_type=thread_type, status=None), limit=500, cursor=cursor
        ),
        lambda page: page.threads,
    )
    return [t.id for t in threads]


async def search(
    pyr: Pyramid,
    query: str,
    thread_id: str | None = None,
    thread_type: ThreadType | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    match_any: bool = False,
) -> SearchResult:
    """All words must match (BM25 ranking) unless `match_any`."""
    terms = terms_of(query)
    ids = await thread_ids_for(pyr, thread_id, thread_type)
    hits = await pyr.store.search_text(
        terms, match_any=match_any, thread_ids=ids, since=since, until=until, limit=limit
    )
    return SearchResult(query=query, matches=[match_of(h, pyr) for h in hits])
