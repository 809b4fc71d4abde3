"""ask_status: which threads a topic lives in, and where each of them stands now.

The topic resolves to threads by their title and standing context first, then by evidence: every
message and summary that matches (ranked as `search` ranks them) counts towards its thread, and a
task thread's evidence counts towards its project. Each thread comes back with its best matches
(from itself and its task threads) and its current context: standing context, latest summaries and
recent messages, within the token budget.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from mainloop_mcp.memory.assembly import ThreadContext, assemble_context
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import SearchHit, TextQuery, Thread, ThreadType
from mainloop_mcp.search.fulltext import Match, match_of, ranked_hits
from mainloop_mcp.search.fusion import RRF_K
from mainloop_mcp.search.hybrid import SearchMode, fuse_hits_head_first, uses_meaning
from mainloop_mcp.search.query import parse
from mainloop_mcp.search.rerank import coverage
from mainloop_mcp.search.semantic import SemanticIndex

CANDIDATE_HITS = 60
FUSED_HEAD = 20  # the first hits fused as `search` fuses them (its default limit); deeper ones after
MATCHES_SHOWN = 5
NAMED_BY = 0.5  # a thread whose title/context hold at least half the topic's terms is named by it
TITLE_CANDIDATES = 10


class TopicThread(BaseModel):
    thread_id: str
    title: str
    found_by: str = Field(description="'title' (its title or standing context name the topic) or 'evidence'")
    relevance: float = Field(description="Reciprocal-rank-fusion score of the matches in it and its task threads")
    matches: list[Match] = Field(description="The best matches in the thread and its task threads, best first")
    context: ThreadContext = Field(description="Standing context, latest summaries and recent messages")


class StatusAnswer(BaseModel):
    topic: str
    threads: list[TopicThread] = Field(description="Most relevant first")


class _Threads:
    """Thread lookups for one answer, cached; a task counts towards its project."""

    def __init__(self, pyr: Pyramid) -> None:
        self.pyr = pyr
        self.cache: dict[str, Thread] = {}

    async def get(self, thread_id: str) -> Thread:
        if thread_id not in self.cache:
            self.cache[thread_id] = await self.pyr.store.get_thread(thread_id)
        return self.cache[thread_id]

    async def owner(self, thread_id: str) -> str:
        """The thread a hit counts for: a task's nearest project ancestor, else the thread itself."""
        thread = await self.get(thread_id)
        current = thread
        while current.thread_type is ThreadType.TASK and current.parent_id is not None:
            current = await self.get(current.parent_id)
            if current.thread_type is ThreadType.PROJECT:
                return current.id
        return thread.id


async def topic_hits(
    pyr: Pyramid, topic: str, query: TextQuery, semantic: SemanticIndex | None, mode: SearchMode
) -> list[SearchHit]:
    """The evidence for a topic: by words, by meaning, or both fused (see search/hybrid.py)."""
    if not uses_meaning(mode, semantic):
        return await ranked_hits(pyr, query, limit=CANDIDATE_HITS)
    assert semantic is not None
    near = await semantic.nearest(topic, limit=CANDIDATE_HITS)
    if mode is SearchMode.MEANING:
        return near
    return fuse_hits_head_first([await ranked_hits(pyr, query, limit=CANDIDATE_HITS), near], FUSED_HEAD)


async def named_threads(pyr: Pyramid, query: TextQuery) -> list[str]:
    """Threads whose title and standing context hold at least half of the topic's terms, best first."""
    hits = await pyr.store.search_threads(TextQuery(should=query.positive, must_not=query.must_not), TITLE_CANDIDATES)
    named = [(coverage(query, h.text), h.score, h.id) for h in hits]
    return [thread_id for cover, _, thread_id in sorted(named, key=lambda n: (-n[0], -n[1])) if cover >= NAMED_BY]


async def ask_status(
    pyr: Pyramid,
    topic: str,
    max_threads: int = 3,
    token_budget: int = 2000,
    semantic: SemanticIndex | None = None,
    mode: SearchMode = SearchMode.AUTO,
) -> StatusAnswer:
    query = parse(topic)
    threads = _Threads(pyr)
    score: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[SearchHit]] = defaultdict(list)
    for rank, hit in enumerate(await topic_hits(pyr, topic, query, semantic, mode)):
        owner = await threads.owner(hit.thread_id)
        score[owner] += 1.0 / (RRF_K + rank + 1)
        evidence[owner].append(hit)
    named = await named_threads(pyr, query)
    by_evidence = sorted(score, key=lambda t: (-score[t], t))
    chosen = list(dict.fromkeys(named + by_evidence))[:max_threads]
    answer = []
    for thread_id in chosen:
        context = await assemble_context(pyr, thread_id, token_budget, with_parent=False)
        answer.append(
            TopicThread(
                thread_id=thread_id,
                title=context.title,
                found_by="title" if thread_id in named else "evidence",
                relevance=round(score[thread_id], 6),
                matches=[match_of(h, pyr) for h in evidence[thread_id][:MATCHES_SHOWN]],
                context=context,
            )
        )
    return StatusAnswer(topic=topic, threads=answer)
