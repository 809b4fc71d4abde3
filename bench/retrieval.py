"""Retrieval benchmark: does a question asked in plain words find the turn that answers it?

    .venv/bin/python bench/retrieval.py                    # LongMemEval (500 questions) + synthetic
    .venv/bin/python bench/retrieval.py --limit 100        # the first 100 LongMemEval questions
    .venv/bin/python bench/retrieval.py --per-history 25   # smaller haystacks

Each history (see bench/conversations.py) is loaded into a fresh SQLite store in two layouts:
  one-thread   every turn in one project thread;
  per-session  one project thread with a task thread per session (titled by date only), then
               compacted, so the project also holds every session's synced daily summary.
Every question is sent verbatim to `search` (limit 10; as "search top-k" too, with the top-k index
ranking the messages as it does in a store of over 40,000) and to `ask_status`, and to a baseline: plain
FTS5 BM25 (`tokenize='porter unicode61'`, an OR of the question's words) over the same turns. With
`--meaning static` (or minilm; needs the semantic extra) every turn is embedded through the product's
own SemanticIndex and both tools run again in `mode=auto` (words fused with meaning), which is what a
hub with semantic search on answers.

Figures per question category: hit@5 / hit@10 = an evidence turn among the first 5 / 10 results
(questions whose data marks no evidence turn are left out of these); sess@5 = the share of the
question's evidence sessions that the first 5 results touch (a summary of a session thread counts
for that session). For ask_status the results are its matches, thread by thread, in order.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import anyio

from bench.conversations import History, Question, longmemeval_histories, synthetic_histories
from mainloop_mcp.errors import MainloopError
from mainloop_mcp.memory.compact import compact
from mainloop_mcp.memory.periods import zone
from mainloop_mcp.memory.pyramid import Pyramid
from mainloop_mcp.model import NewMessage, NewThread, Role, ThreadType
from mainloop_mcp.search.hybrid import search
from mainloop_mcp.search.semantic import SemanticIndex, open_semantic
from mainloop_mcp.search.status import ask_status
from mainloop_mcp.store.base import memory_store
from mainloop_mcp.store.sqlite import topk
from mainloop_mcp.store.sqlite.store import SqliteStore

WORKDIR = Path("/tmp/mainloop-bench/retrieval")
LAYOUTS = ("one-thread", "per-session")
_WORD = re.compile(r"\w+")


@dataclass
class Loaded:
    """A history in a store, with the way back from result ids to turns and sessions."""

    store: SqliteStore
    pyr: Pyramid
    turn_of_message: dict[str, str]
    session_of_thread: dict[str, str]
    seconds: float
    semantic: SemanticIndex | None


@dataclass
class Scores:
    """Per-category tallies for one system."""

    hit5: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    hit10: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    sess5: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ms: list[float] = field(default_factory=list)

    def add(self, q: Question, turns: list[str | None], sessions: list[str | None], ms: float) -> None:
        self.ms.append(ms)
        for category in (q.category, "ALL"):
            if q.evidence_turns:
                self.hit5[category].append(any(t in q.evidence_turns for t in turns[:5]))
                self.hit10[category].append(any(t in q.evidence_turns for t in turns[:10]))
            touched = {s for s in sessions[:5] if s is not None}
            self.sess5[category].append(len(touched & q.evidence_sessions) / len(q.evidence_sessions))


async def load(history: History, layout: str, meaning: str) -> Loaded:
    path = WORKDIR / f"{history.name}-{layout}.db"
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        await anyio.Path(stale).unlink(missing_ok=True)
    now = max(t.time for t in history.turns) + timedelta(days=30)
    t0 = time.perf_counter()
    store = await SqliteStore.open(path, clock=lambda: now)
    project = await store.create_thread(NewThread(thread_type=ThreadType.PROJECT, title="Conversations"))
    session_of_thread: dict[str, str] = {}
    batch: list[NewMessage] = []
    for session in history.sessions:
        thread_id = project.id
        if layout == "per-session":
            title = f"Chat of {session.started:%Y-%m-%d %H:%M}"
            thread = await store.create_thread(
                NewThread(thread_type=ThreadType.TASK, title=title, parent_id=project.id)
            )
            thread_id = thread.id
            session_of_thread[thread_id] = session.id
        batch += [
            NewMessage(
                thread_id=thread_id,
                role=Role.USER if turn.role == "user" else Role.ASSISTANT,
                content=turn.content,
                idempotency_key=turn.id,
                created_at=turn.time,
            )
            for turn in session.turns
        ]
    await store.append_messages(batch)
    pyr = Pyramid(memory_store(store), zone("UTC"), clock=lambda: now)
    await compact(pyr)
    semantic = await open_semantic(meaning, WORKDIR / "models", store)
    if semantic is not None:
        await semantic.backfill(lambda done, total: None)
    seconds = time.perf_counter() - t0
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, idempotency_key FROM messages WHERE role != 'summary'").fetchall()
    return Loaded(store, pyr, {mid: key for mid, key in rows}, session_of_thread, seconds, semantic)


def session_of_turn(turn_id: str | None) -> str | None:
    return turn_id.rpartition("#")[0] if turn_id else None


async def run_search(loaded: Loaded, q: Question) -> tuple[list[str | None], list[str | None]]:
    try:
        found = await search(loaded.pyr, q.text, loaded.semantic, limit=10)
    except MainloopError:
        return [], []
    turns = [loaded.turn_of_message.get(m.id) if m.kind == "message" else None for m in found.matches]
    sessions = [
        session_of_turn(t) if t else loaded.session_of_thread.get(m.thread_id)
        for t, m in zip(turns, found.matches, strict=True)
    ]
    return turns, sessions


async def run_status(loaded: Loaded, q: Question) -> tuple[list[str | None], list[str | None]]:
    try:
        answer = await ask_status(loaded.pyr, q.text, semantic=loaded.semantic)
    except MainloopError:
        return [], []
    slots = [(m.kind, m.id, t.thread_id) for t in answer.threads for m in t.matches]
    turns = [loaded.turn_of_message.get(mid) if kind == "message" else None for kind, mid, _ in slots]
    sessions = [
        session_of_turn(t) if t else loaded.session_of_thread.get(thread_id)
        for t, (_, _, thread_id) in zip(turns, slots, strict=True)
    ]
    return turns, sessions


async def run_search_topk(loaded: Loaded, q: Question) -> tuple[list[str | None], list[str | None]]:
    """`search` with the top-k index ranking the messages, as in a store past topk.MIN_ROWS."""
    assert loaded.store.topk
    loaded.store.topk.min_rows = 0
    try:
        return await run_search(loaded, q)
    finally:
        loaded.store.topk.min_rows = topk.MIN_ROWS


class Baseline:
    """Plain FTS5 BM25 over the turns: porter tokenizer, an OR of the question's words."""

    def __init__(self, history: History) -> None:
        self.conn = sqlite3.connect(":memory:")
        self.conn.execute("CREATE VIRTUAL TABLE turns USING fts5(content, tokenize='porter unicode61')")
        self.ids = [t.id for t in history.turns]
        self.conn.executemany(
            "INSERT INTO turns(rowid, content) VALUES (?, ?)", [(i, t.content) for i, t in enumerate(history.turns)]
        )

    def query(self, q: Question) -> tuple[list[str | None], list[str | None]]:
        words = _WORD.findall(q.text.lower())
        if not words:
            return [], []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = self.conn.execute(
            "SELECT rowid FROM turns WHERE turns MATCH ? ORDER BY rank LIMIT 10", (match,)
        ).fetchall()
        turns: list[str | None] = [self.ids[r[0]] for r in rows]
        return turns, [session_of_turn(t) for t in turns]


async def evaluate(histories: list[History], layout: str, meaning: str) -> tuple[dict[str, Scores], float]:
    calls = {"search": run_search, "search top-k": run_search_topk, "ask_status": run_status}
    systems = {name: Scores() for name in calls}
    if meaning != "none":
        systems |= {f"{name} auto": Scores() for name in calls}
    systems["fts5-bm25-or"] = Scores()
    load_seconds = 0.0
    for history in histories:
        loaded = await load(history, layout, meaning)
        load_seconds += loaded.seconds
        baseline = Baseline(history)
        words_only = replace(loaded, semantic=None)
        try:
            for q in history.questions:
                for name, call in calls.items():
                    for system, run_on in ((name, words_only), (f"{name} auto", loaded)):
                        if system not in systems:
                            continue
                        t0 = time.perf_counter()
                        turns, sessions = await call(run_on, q)
                        systems[system].add(q, turns, sessions, (time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                turns, sessions = baseline.query(q)
                systems["fts5-bm25-or"].add(q, turns, sessions, (time.perf_counter() - t0) * 1000)
        finally:
            await loaded.store.close()
    return systems, load_seconds


def pct(values: list[bool] | list[float]) -> str:
    return f"{100 * statistics.fmean(values):5.1f}" if values else "    -"


def report(dataset: str, layout: str, systems: dict[str, Scores], load_seconds: float) -> None:
    print(f"\n== {dataset} / {layout} (load + compact + embed {load_seconds:.1f} s)")
    categories = sorted(systems["search"].sess5, key=lambda c: (c == "ALL", c))
    print(f"{'category':<34}{'n':>5}  " + "  ".join(f"{name:>24}" for name in systems))
    print(f"{'':<34}{'':>5}  " + "  ".join(f"{'hit@5 hit@10 sess@5':>24}" for _ in systems))
    for c in categories:
        n = len(systems["search"].sess5[c])
        cells = [f"{pct(s.hit5[c])} {pct(s.hit10[c])} {pct(s.sess5[c])}" for s in systems.values()]
        print(f"{c:<34}{n:>5}  " + "  ".join(f"{cell:>24}" for cell in cells))
    print(f"{'p50 latency ms':<34}{'':>5}  " + "  ".join(f"{statistics.median(s.ms):>24.2f}" for s in systems.values()))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N LongMemEval questions")
    parser.add_argument("--per-history", type=int, default=50, help="LongMemEval questions pooled per history")
    parser.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=LAYOUTS)
    parser.add_argument(
        "--meaning", default="none", choices=["none", "static", "minilm"], help="also run mode=auto with this embedder"
    )
    args = parser.parse_args()
    await anyio.Path(WORKDIR).mkdir(parents=True, exist_ok=True)
    datasets = {
        "LongMemEval oracle (real)": longmemeval_histories(args.per_history, args.limit),
        "synthetic": synthetic_histories(),
    }
    for dataset, histories in datasets.items():
        sessions = sum(len(h.sessions) for h in histories)
        turns = sum(len(h.turns) for h in histories)
        questions = sum(len(h.questions) for h in histories)
        print(f"\n# {dataset}: {len(histories)} histories, {sessions} sessions, {turns} turns, {questions} questions")
        for layout in args.layouts:
            systems, load_seconds = await evaluate(histories, layout, args.meaning)
            report(dataset, layout, systems, load_seconds)


if __name__ == "__main__":
    anyio.run(main)
