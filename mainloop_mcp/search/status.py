"""ask_status: which threads a topic lives in, and where each of them stands now."""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from mainloop_mcp.memory.context import ThreadContext, assemble_context
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.search.fulltext import Match
from mainloop_mcp.search.fusion import RRF_K
from mainloop_mcp.search.hybrid import SearchMode, search
from mainloop_mcp.search.semantic import SemanticIndex

CANDIDATE_HITS = 100
MATCHES_SHOWN = 3


class TopicThread(BaseModel):
    thread_id: str
    title: str
    relevance: float = Field(description="Reciprocal-rank-fusion score of the thread's matches")
    matches: list[Match] = Field(description="The thread's best matches for the topic")
    context: ThreadContext = Field(description="The thread's latest pyramid context")


class StatusAnswer(BaseModel):
    topic: str
    threads: list[TopicThread] = Field(description="Most relevant first")


async def ask_status(
    pyr: Pyramid,
    topic: str,
    max_threads: int = 3,
    token_budget: int = 2000,
    semantic: SemanticIndex | None = None,
    mode: SearchMode = SearchMode.AUTO,
) -> StatusAnswer:
    """Rank threads by their matches for the topic (any word, BM25, fused per thread), then give
    each of the best ones its current context."""
    found = await search(pyr, topic, semantic, mode, limit=CANDIDATE_HITS, match_any=True)
    score: dict[str, float] = defaultdict(float)
    matches: dict[str, list[Match]] = defaultdict(list)
    for rank, m in enumerate(found.matches):
        score[m.thread_id] += 1.0 / (RRF_K + rank + 1)
        matches[m.thread_id].append(m)
    best = sorted(score, key=lambda t: (-score[t], t))[:max_threads]
    threads = []
    for thread_id in best:
        context = await assemble_context(pyr, thread_id, token_budget, with_parent=False)
        threads.append(
            TopicThread(
                thread_id=thread_id,
                title=context.title,
                relevance=round(score[thread_id], 6),
                matches=matches[thread_id][:MATCHES_SHOWN],
                context=context,
            )
        )
    return StatusAnswer(topic=topic, threads=threads)
