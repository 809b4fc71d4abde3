"""Reciprocal rank fusion (Cormack, Clarke & Büttcher, 2009): one ranking from several, by rank alone.

Ranks, not scores, are fused, so BM25's unbounded scores and cosine similarities need no common scale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import TypeVar

RRF_K = 60  # the paper's constant: damps the head of each list so one list cannot dominate

K = TypeVar("K", bound=Hashable)


def fused_scores(rankings: Sequence[Sequence[K]], k: int = RRF_K) -> dict[K, float]:
    """Each key's summed 1 / (k + rank), rank counted from 1 in every ranking it appears in."""
    score: dict[K, float] = defaultdict(float)
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            score[key] += 1.0 / (k + rank)
    return dict(score)


def fuse(rankings: Sequence[Sequence[K]], k: int = RRF_K) -> list[K]:
    """The keys of all rankings, best fused score first; ties keep first-seen order."""
    score = fused_scores(rankings, k)
    return sorted(score, key=lambda key: -score[key])
