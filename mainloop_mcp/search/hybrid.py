"""Search by words, by meaning, or both fused: the `mode` of the search tool and ask_status.

text     full-text (BM25) only;
meaning  nearest messages by embedding only;
auto     both, fused by reciprocal rank, when a semantic index is configured; else text.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from mainloop_mcp.errors import InvalidInput, MainloopError
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import ThreadType
from mainloop_mcp.search.fulltext import Match, SearchResult, match_of, thread_ids_for
from mainloop_mcp.search.fulltext import search as search_words
from mainloop_mcp.search.fusion import fused_scores
from mainloop_mcp.search.semantic import SemanticIndex

MODE_HELP = (
    "auto: words and meaning fused when semantic search is on (else words); text: words only; meaning: by meaning"
)


class SearchMode(StrEnum):
    AUTO = "auto"
    TEXT = "text"
    MEANING = "meaning"


async def search(
    pyr: Pyramid,
    query: str,
    semantic: SemanticIndex | None,
    mode: SearchMode = SearchMode.AUTO,
    thread_id: str | None = None,
    thread_type: ThreadType | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    match_any: bool = False,
) -> SearchResult:
    if mode is SearchMode.TEXT or (mode is SearchMode.AUTO and semantic is None):
        return await search_words(pyr, query, thread_id, thread_type, since, until, limit, match_any)
    if semantic is None:
        raise InvalidInput("mode 'meaning' needs semantic search, which is off here; use mode 'text' or 'auto'")
    ids = await thread_ids_for(pyr, thread_id, thread_type)
    near = await semantic.nearest(query, thread_ids=ids, since=since, until=until, limit=limit)
    meaning = [match_of(h, pyr) for h in near]
    if mode is SearchMode.MEANING:
        return SearchResult(query=query, matches=meaning)
    try:
        words = (await search_words(pyr, query, thread_id, thread_type, since, until, limit, match_any)).matches
    except MainloopError:  # a query with no searchable words still has a meaning
        words = []
    return SearchResult(query=query, matches=fuse_matches([words, meaning])[:limit])


def fuse_matches(rankings: list[list[Match]]) -> list[Match]:
    """One list by reciprocal rank fusion; a match found both ways keeps its full-text snippet."""
    first: dict[tuple[str, str], Match] = {}
    for ranking in rankings:
        for m in ranking:
            first.setdefault((m.kind, m.id), m)
    score = fused_scores([[(m.kind, m.id) for m in ranking] for ranking in rankings])
    order = sorted(score, key=lambda key: -score[key])
    return [first[key].model_copy(update={"score": round(score[key], 6)}) for key in order]
