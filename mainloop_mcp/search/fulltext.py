"""Full-text search across threads: any text in (see search/query.py), ranked hits out, each with
its thread's title, its time, a highlighted snippet and the period to zoom into."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.memory.periods import Period, local_date
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import MAX_PAGE_SIZE, Granularity, SearchHit, TextQuery, Thread, ThreadFilter, ThreadType
from mainloop_mcp.search.query import parse
from mainloop_mcp.search.rerank import cap_summaries, rerank
from mainloop_mcp.search.snippets import snippet
from mainloop_mcp.store.views import threads_where

CANDIDATES = 3  # candidates fetched per hit asked for, to re-rank among
MIN_CANDIDATES = 30
THREAD_HITS = 2


class Match(BaseModel):
    """A search hit with the period label to zoom into."""

    kind: str = Field(description="message, summary, or thread (its title or standing context matched)")
    id: str
    thread_id: str
    thread_title: str
    granularity: Granularity
    period: str = Field(description="Pass to zoom or memory://{thread_id}/{period}; for a message, its day")
    time: datetime = Field(
        description="The message's time, the start of the summarised period, or a thread's last activity"
    )
    snippet: str = Field(description="Matching text; matched words are in [brackets]")
    score: float


class SearchResult(BaseModel):
    query: str
    searched: str = Field(description="What was looked for, and where")
    matches: list[Match]
    hint: str | None = Field(default=None, description="When nothing matched: how to widen the search")


def describe(query: TextQuery) -> str:
    parts = []
    if query.must:
        parts.append("all of " + ", ".join(_quoted(t.text, t.prefix) for t in query.must))
    if query.should:
        parts.append("any of " + ", ".join(_quoted(t.text, t.prefix) for t in query.should))
    if query.must_not:
        parts.append("none of " + ", ".join(_quoted(t.text, t.prefix) for t in query.must_not))
    return "; ".join(parts) + " (word forms match: 'graduated' finds 'graduate')"


def _quoted(text: str, prefix: bool) -> str:
    return f"'{text}{'*' if prefix else ''}'"


def match_of(hit: SearchHit, pyr: Pyramid) -> Match:
    granularity = Granularity.DAY if hit.granularity is Granularity.MESSAGE else hit.granularity
    first_day = local_date(hit.period_start, pyr.tz)
    return Match(
        kind=hit.kind,
        id=hit.id,
        thread_id=hit.thread_id,
        thread_title=hit.thread_title,
        granularity=hit.granularity,
        period=Period(first_day, granularity).label,
        time=hit.period_start,
        snippet=hit.snippet,
        score=hit.score,
    )


async def thread_ids_for(pyr: Pyramid, thread_id: str | None, thread_type: ThreadType | None) -> list[str] | None:
    """The threads a search covers: a thread with its task threads (searching a project finds what its
    tasks hold, as ask_status counts it; one more listing, one BigQuery job), every thread of a type,
    or None for all."""
    if thread_id is not None:
        thread = await pyr.store.get_thread(thread_id)
        if thread_type is not None and thread.thread_type is not thread_type:
            raise InvalidInput(f"thread {thread_id} is a {thread.thread_type.value}, not a {thread_type.value}")
        return [thread.id, *await _tasks_under(pyr, thread)]
    if thread_type is None:
        return None
    return [t.id for t in await threads_where(pyr.store, ThreadFilter(thread_type=thread_type, status=None))]


async def _tasks_under(pyr: Pyramid, thread: Thread) -> list[str]:
    """The task threads under a project or main, archived ones too (a task has no threads under it)."""
    if thread.thread_type is ThreadType.TASK:
        return []
    tasks = await threads_where(pyr.store, ThreadFilter(thread_type=ThreadType.TASK, status=None, parent_id=thread.id))
    return [t.id for t in tasks]


async def ranked_hits(
    pyr: Pyramid,
    query: TextQuery,
    thread_ids: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    summaries: bool = False,
) -> list[SearchHit]:
    """Messages and summaries for a parsed query, re-ranked, summaries capped unless `summaries`."""
    fetch = min(MAX_PAGE_SIZE, max(limit * CANDIDATES, MIN_CANDIDATES))
    hits = await pyr.store.search_text(query, thread_ids=thread_ids, since=since, until=until, limit=fetch)
    hits = (rerank(query, hits) if summaries else cap_summaries(rerank(query, hits)))[:limit]
    return await with_titles(
        pyr, [h.model_copy(update={"snippet": snippet(h.text, query)}) if h.text else h for h in hits]
    )


async def with_titles(pyr: Pyramid, hits: list[SearchHit]) -> list[SearchHit]:
    """Fill in thread titles a backend did not return (one lookup per thread)."""
    titles: dict[str, str] = {}
    out = []
    for hit in hits:
        if not hit.thread_title:
            if hit.thread_id not in titles:
                titles[hit.thread_id] = (await pyr.store.get_thread(hit.thread_id)).title
            hit = hit.model_copy(update={"thread_title": titles[hit.thread_id]})
        out.append(hit)
    return out


async def search(
    pyr: Pyramid,
    query: str,
    thread_id: str | None = None,
    thread_type: ThreadType | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    summaries: bool = False,
) -> SearchResult:
    """Any text: an OR of its meaningful words (stemmed, BM25), re-ranked; threads whose title or
    standing context hold every word come first when no filter is given."""
    parsed = parse(query)
    ids = await thread_ids_for(pyr, thread_id, thread_type)
    hits = await ranked_hits(pyr, parsed, ids, since, until, limit, summaries)
    if ids is None and since is None and until is None:
        strict = TextQuery(must=parsed.positive, must_not=parsed.must_not)
        threads = await pyr.store.search_threads(strict, limit=min(THREAD_HITS, limit))
        hits = (threads + hits)[:limit]
    scope = _scope(thread_id, thread_type, since, until)
    result = SearchResult(
        query=query, searched=f"{describe(parsed)} in {scope}", matches=[match_of(h, pyr) for h in hits]
    )
    if not hits:
        result.hint = (
            "Nothing matched. Try other or fewer words, a word's stem with * (e.g. 'migrat*'), "
            "drop thread_id/thread_type/since/until, or call ask_status with the topic."
        )
    return result


def _scope(
    thread_id: str | None, thread_type: ThreadType | None, since: datetime | None, until: datetime | None
) -> str:
    where = f"thread {thread_id}" if thread_id else f"{thread_type.value} threads" if thread_type else "all threads"
    if since:
        where += f" since {since.isoformat()}"
    if until:
        where += f" until {until.isoformat()}"
    return where
