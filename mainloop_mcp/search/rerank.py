"""Re-ranking of full-text candidates, the same for every backend.

The index scores stems (BM25); here each candidate's own text decides the order among them: words
written exactly as asked, and the query's words side by side as a phrase, lift a hit. Summaries are
kept from crowding out the evidence: at most one in the top five unless the caller wants them.
"""

from __future__ import annotations

from mainloop_mcp.model import SearchHit, TextQuery
from mainloop_mcp.text import stem, words_of

EXACT_WEIGHT = 0.3  # all terms written exactly as asked: BM25 score x 1.3
PHRASE_WEIGHT = 0.3  # every neighbouring pair of query words side by side: another x 1.3
TOP = 5
SUMMARIES_IN_TOP = 1


def rerank(query: TextQuery, hits: list[SearchHit]) -> list[SearchHit]:
    """Hits re-scored by exact words and phrase adjacency; stable for equal scores."""
    terms = [words_of(t.text) for t in query.positive if not t.prefix]
    terms = [t for t in terms if t]
    if not terms:
        return hits
    pairs = [a[-1:] + b[:1] for a, b in zip(terms, terms[1:], strict=False)]
    scored = []
    for hit in hits:
        text = " " + " ".join(words_of(hit.text or hit.snippet)) + " "
        exact = sum(1 for t in terms if f" {' '.join(t)} " in text) / len(terms)
        adjacent = sum(1 for p in pairs if f" {' '.join(p)} " in text) / len(pairs) if pairs else 0.0
        factor = 1 + EXACT_WEIGHT * exact + PHRASE_WEIGHT * adjacent
        scored.append(hit.model_copy(update={"score": round(hit.score * factor, 6)}))
    return sorted(scored, key=lambda h: -h.score)


def cap_summaries(hits: list[SearchHit], allowed: int = SUMMARIES_IN_TOP, top: int = TOP) -> list[SearchHit]:
    """At most `allowed` summaries in every `top` hits, and none whose period already shows a message
    of its thread above it (the evidence is there); the others wait until messages run out."""
    out: list[SearchHit] = []
    waiting: list[SearchHit] = []
    for hit in hits:
        if hit.kind == "summary" and (_covered(hit, out) or _summaries_in_window(out, top) >= allowed):
            waiting.append(hit)
        else:
            out.append(hit)
    return out + waiting


def _covered(summary: SearchHit, above: list[SearchHit]) -> bool:
    return any(
        h.kind == "message"
        and h.thread_id == summary.thread_id
        and summary.period_start <= h.period_start < summary.period_end
        for h in above
    )


def _summaries_in_window(out: list[SearchHit], top: int) -> int:
    """Summaries in the window of `top` slots the next hit falls into."""
    start = len(out) // top * top
    return sum(h.kind == "summary" for h in out[start:])


def coverage(query: TextQuery, text: str) -> float:
    """Share of the query's terms found in `text`, word forms included (a crude stem: the first five
    letters), e.g. how well a thread's title and standing context name a topic."""
    terms = [w for t in query.positive for w in words_of(t.text)]
    if not terms:
        return 0.0
    stems = {stem(w) for w in words_of(text)}
    return sum(1 for t in terms if stem(t) in stems) / len(terms)
