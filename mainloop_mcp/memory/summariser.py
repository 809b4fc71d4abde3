"""Summarisers behind one small interface: a deterministic extractive one (the default, offline)
and one that asks an LLM through an `ask(prompt) -> answer` callable (the agents module wires it).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from mainloop_mcp.errors import MainloopError
from mainloop_mcp.memory.tokens import clip_to_tokens, estimate_tokens
from mainloop_mcp.model import Granularity

TOKEN_LIMITS = {Granularity.DAY: 500, Granularity.WEEK: 1000, Granularity.MONTH: 2000}
MAX_SENTENCE_CHARS = 400

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9][a-z0-9'_-]{2,}")
_STOPWORDS = frozenset(
    "the and for that this with you are was were have has had not but from they their there what when which "
    "will would can could should into about then than them these those its it's our your all any been also "
    "just more some such very over only out get got did does doing done one two lets let's okay yes".split()
)


class SummariserFailed(MainloopError):
    """A summariser gave no usable summary; the previous summary (if any) stays in place."""


@dataclass(frozen=True)
class Source:
    """One thing to summarise: a message (label: local time and role) or a finer summary (its period)."""

    label: str
    text: str


@dataclass(frozen=True)
class SummaryRequest:
    """What to summarise: the sources in time order (messages, or the finer summaries)."""

    thread_title: str
    period_label: str
    granularity: Granularity
    sources: list[Source]

    @property
    def token_limit(self) -> int:
        return TOKEN_LIMITS[self.granularity]


class Summariser(Protocol):
    name: str

    async def summarise(self, request: SummaryRequest) -> str: ...


class ExtractiveSummariser:
    """Picks the sentences that carry the period's most frequent words, kept in time order.

    Deterministic and model-free, so the pyramid works offline and tests can predict it. A daily
    summary is a list of message sentences, each prefixed with its message's time and role; a
    weekly or monthly one picks whole lines of the finer summaries, so those prefixes survive.
    Every source's first sentence or line gets a bonus, so each message or day has a chance.
    """

    name = "extractive"

    async def summarise(self, request: SummaryRequest) -> str:
        return extract(request)


def _pieces(source: Source, granularity: Granularity) -> list[str]:
    """A message's sentences, labelled; or a finer summary's lines, which carry their labels."""
    if granularity is Granularity.DAY:
        parts = (p.strip() for p in _SENTENCE_END.split(source.text))
        return [f"{source.label}: {p[:MAX_SENTENCE_CHARS]}" for p in parts if p]
    lines = (line.strip().removeprefix("- ").strip() for line in source.text.splitlines())
    return [line[: MAX_SENTENCE_CHARS + 40] for line in lines if line]


def extract(request: SummaryRequest) -> str:
    candidates: list[tuple[int, int, str]] = []  # (source index, piece index, text)
    for i, source in enumerate(request.sources):
        candidates += [(i, j, piece) for j, piece in enumerate(_pieces(source, request.granularity))]
    words = [set(_WORD.findall(text.lower())) - _STOPWORDS for _, _, text in candidates]
    frequency = Counter(w for ws in words for w in ws)

    def score(k: int) -> float:
        base = sum(frequency[w] for w in words[k]) / math.sqrt(len(words[k]) + 1)
        return base * (2.0 if candidates[k][1] == 0 else 1.0)

    budget = request.token_limit
    chosen: list[int] = []
    for k in sorted(range(len(candidates)), key=lambda k: (-score(k), k)):
        cost = estimate_tokens(candidates[k][2]) + 1
        if cost <= budget:
            chosen.append(k)
            budget -= cost
    return "\n".join(f"- {candidates[k][2]}" for k in sorted(chosen))


Ask = Callable[[str], Awaitable[str]]


class LlmSummariser:
    """Asks a model for the summary through `ask(prompt) -> answer` (e.g. claude-code-mcp).

    The answer is clipped to the token limit; an empty answer or a failing `ask` raises
    SummariserFailed, which leaves the stored summary untouched.
    """

    def __init__(self, ask: Ask, name: str = "llm") -> None:
        self._ask = ask
        self.name = name

    async def summarise(self, request: SummaryRequest) -> str:
        try:
            answer = (await self._ask(prompt_for(request))).strip()
        except Exception as exc:
            raise SummariserFailed(f"the {self.name} summariser failed: {exc}") from exc
        if not answer:
            raise SummariserFailed(f"the {self.name} summariser returned an empty summary")
        return clip_to_tokens(answer, request.token_limit)


def prompt_for(request: SummaryRequest) -> str:
    """The instruction an LLM summariser gets; also what the summarize-period prompt shows a client."""
    finer = "messages" if request.granularity is Granularity.DAY else "finer summaries"
    body = "\n\n".join(f"[{s.label}] {s.text}" for s in request.sources) or "(nothing)"
    return (
        f"Summarise the {request.granularity.value} {request.period_label} of the thread "
        f'"{request.thread_title}" from its {len(request.sources)} {finer} below. Keep decisions, open '
        f"questions, results, names and numbers; drop chatter. At most {request.token_limit} tokens "
        f"(about {request.token_limit * 4} characters). Answer with the summary only.\n\n{body}"
    )
