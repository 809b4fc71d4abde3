"""Re-ranking of full-text candidates, the same for every backend.

The index scores stems (BM25); here each candidate's own text decides the order among them: words
written exactly as asked, and the query's words side by side as a phrase, lift a hit. Summaries are
kept from crowding out the evidence: none in the top five while messages fill it, then at most one in
every five, unless the caller wants them.
"""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime

from mainloop_mcp.model import SearchHit, TextQuery
from mainloop_mcp.text import stem, words_of

EXACT_WEIGHT = 0.3  # all terms written exactly as asked: BM25 score x 1.3
PHRASE_WEIGHT = 0.3  # every neighbouring pair of query words side by side: another x 1.3
TOP = 5
SUMMARIES_IN_TOP = 1  # in every window of TOP hits but the first


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
    """No summary in the first `top` hits, then the best waiting summary takes a slot in every `top`
    (at most `allowed`) where it ranks above the next message, and none whose period already shows a
    message of its thread above it (the evidence is there); the rest follow the messages. A summary
    is derived from messages that are all kept, so the first slots go to the evidence itself: with one
    summary allowed there, a thread per session fell below plain BM25 on LongMemEval (hit@5 76.6
    against 76.8; see bench/README.md)."""
    rank = {id(h): i for i, h in enumerate(hits)}
    messages = deque(h for h in hits if h.kind != "summary")
    summaries = [h for h in hits if h.kind == "summary"]
    shown: dict[str, list[datetime]] = defaultdict(list)  # message times above, by thread
    out: list[SearchHit] = []
    while messages:
        summary = None
        if len(out) >= top and _summaries_in_window(out, top) < allowed:
            summary = next((h for h in summaries if not _covered(h, shown[h.thread_id])), None)
        if summary is not None and rank[id(summary)] < rank[id(messages[0])]:
            summaries.remove(summary)
            out.append(summary)
        else:
            out.append(messages.popleft())
            shown[out[-1].thread_id].append(out[-1].period_start)
    return out + summaries


def _covered(summary: SearchHit, times: list[datetime]) -> bool:
    return any(summary.period_start <= t < summary.period_end for t in times)


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
