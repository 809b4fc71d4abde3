"""Lexical vs meaning vs fused, side by side, on real multi-session conversations (LongMemEval).

    .venv/bin/python -m bench.semantic_recall --limit 100 --embedders static
    .venv/bin/python -m bench.semantic_recall --embedders static minilm --limit 100

Over the same turns and questions (bench/conversations.py), each question's evidence is ranked by:
  bm25        plain FTS5 BM25, porter, an OR of the question's words (bench/retrieval.py's baseline);
  <embedder>  cosine between the question's and each turn's vectors (brute force);
  hybrid      the two rankings fused by reciprocal rank fusion (mainloop_mcp/search/fusion.py).
Prints hit@5 / hit@10 / session recall@5 per question category, then embedding cost: messages a
second over all turns, and the process's peak RSS growth with the model loaded.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.conversations import History, Question, longmemeval_histories
from bench.retrieval import Baseline, session_of_turn
from mainloop_mcp.search.embedders import EmbedderName, make_embedder
from mainloop_mcp.search.fusion import fuse

TOP = 10


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Tally:
    def __init__(self) -> None:
        self.hit5: dict[str, list[bool]] = defaultdict(list)
        self.hit10: dict[str, list[bool]] = defaultdict(list)
        self.sess5: dict[str, list[float]] = defaultdict(list)

    def add(self, q: Question, turns: list[str]) -> None:
        sessions = {session_of_turn(t) for t in turns[:5]}
        for c in (q.category, "ALL"):
            if q.evidence_turns:
                self.hit5[c].append(any(t in q.evidence_turns for t in turns[:5]))
                self.hit10[c].append(any(t in q.evidence_turns for t in turns[:10]))
            if q.evidence_sessions:
                self.sess5[c].append(len(sessions & q.evidence_sessions) / len(q.evidence_sessions))


def pct(v: list[bool] | list[float]) -> str:
    return f"{100 * statistics.fmean(v):5.1f}" if v else "    -"


def evaluate(histories: list[History], name: EmbedderName, cache: Path) -> None:
    before = rss_mb()
    embedder = make_embedder(name, cache)
    systems = {"bm25": Tally(), name: Tally(), "hybrid": Tally()}
    embed_seconds, embedded, query_ms = 0.0, 0, []
    for history in histories:
        turns = history.turns
        baseline = Baseline(history)
        t0 = time.perf_counter()
        vectors = embedder.embed([t.content for t in turns])
        embed_seconds += time.perf_counter() - t0
        embedded += len(turns)
        for q in history.questions:
            lexical = [t for t in baseline.query(q)[0] if t]
            t0 = time.perf_counter()
            scores = vectors @ embedder.embed([q.text])[0]
            meaning = [turns[i].id for i in np.argsort(-scores)[:TOP]]
            query_ms.append((time.perf_counter() - t0) * 1000)
            systems["bm25"].add(q, lexical)
            systems[name].add(q, meaning)
            systems["hybrid"].add(q, fuse([lexical, meaning])[:TOP])
    growth = rss_mb() - before
    print(
        f"\n== embedder {name}: {embedded} turns embedded at {embedded / embed_seconds:,.0f} msgs/s; "
        f"peak RSS +{growth:.0f} MB; query (embed + brute force) p50 {statistics.median(query_ms):.1f} ms"
    )
    categories = sorted(systems["bm25"].sess5, key=lambda c: (c == "ALL", c))
    print(f"{'category':<28}{'n':>5}  " + "  ".join(f"{s:>20}" for s in systems))
    print(f"{'':<28}{'':>5}  " + "  ".join(f"{'hit@5 hit@10 sess@5':>20}" for _ in systems))
    for c in categories:
        n = len(systems["bm25"].sess5[c])
        cells = [f"{pct(t.hit5[c])} {pct(t.hit10[c])} {pct(t.sess5[c])}" for t in systems.values()]
        print(f"{c:<28}{n:>5}  " + "  ".join(f"{cell:>20}" for cell in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N LongMemEval questions")
    parser.add_argument("--per-history", type=int, default=50)
    parser.add_argument("--embedders", nargs="+", default=["static"], choices=["static", "minilm"])
    parser.add_argument("--cache", type=Path, default=None, help="static table cache (default: a fresh temp dir)")
    args = parser.parse_args()
    histories = longmemeval_histories(args.per_history, args.limit)
    print(
        f"# LongMemEval oracle: {len(histories)} histories, {sum(len(h.turns) for h in histories)} turns, "
        f"{sum(len(h.questions) for h in histories)} questions"
    )
    for name in args.embedders:
        evaluate(histories, name, args.cache or Path(tempfile.mkdtemp(prefix="mainloop-static-")))


if __name__ == "__main__":
    main()
