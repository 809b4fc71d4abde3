"""Snippets cut in Python from each hit's text, the same on every backend: about 16 words around
the densest stretch of matches, matched words (word forms included) in [brackets], … where cut."""

from __future__ import annotations

import re
from bisect import bisect_right

from mainloop_mcp.model import TextQuery
from mainloop_mcp.text import fold, words_of

WIDTH = 16
_TOKEN = re.compile(r"\w+")


def _matcher(query: TextQuery) -> re.Pattern[str] | None:
    """Matches a folded word that is a query word, or starts with a query word's stem (its first
    letters), or with a prefix term."""
    words = {w for t in query.positive for w in words_of(t.text)}
    stems = {w[: max(4, len(w) - 2)] for w in words if len(w) >= 4}
    stems |= {w for t in query.positive if t.prefix for w in words_of(t.text)[-1:]}
    if not words and not stems:
        return None
    alternatives = [re.escape(w) + "$" for w in sorted(words)] + [re.escape(s) for s in sorted(stems)]
    return re.compile("|".join(alternatives))


def snippet(text: str, query: TextQuery, width: int = WIDTH) -> str:
    tokens = list(_TOKEN.finditer(text))
    if not tokens:
        return text[:200]
    matcher = _matcher(query)
    if matcher is None:
        hits: list[int] = []
    elif text.isascii():  # one regex pass over the whole text (the common case, and fast)
        starts = [t.start() for t in tokens]
        found = re.compile(r"\b(?:" + matcher.pattern.replace("$", r"\b") + r")").finditer(text.lower())
        hits = sorted({bisect_right(starts, m.start()) - 1 for m in found})
    else:
        hits = [i for i, t in enumerate(tokens) if matcher.match(fold(t.group()))]
    if not hits:
        return _substring(text, query) or _cut(text, tokens, width)
    start = _densest(hits, width, len(tokens))
    end = min(len(tokens), start + width)
    lo = 0 if start == 0 else tokens[start].start()
    hi = len(text) if end == len(tokens) else tokens[end - 1].end()
    parts, pos = [], lo
    for i in hits:
        if start <= i < end:
            parts += [text[pos : tokens[i].start()], "[", tokens[i].group(), "]"]
            pos = tokens[i].end()
    parts.append(text[pos:hi])
    return ("…" if lo > 0 else "") + "".join(parts) + ("…" if hi < len(text) else "")


def _densest(hits: list[int], width: int, total: int) -> int:
    """First token of the window holding the most matches (starting a little before the first)."""
    if not hits:
        return 0
    best, best_count = hits[0], 0
    for first in hits:
        count = sum(1 for h in hits if first <= h < first + width - 3)
        if count > best_count:
            best, best_count = first, count
    return max(0, min(best - 3, total - width))


def _substring(text: str, query: TextQuery, around: int = 60) -> str | None:
    """A term found inside a longer token (scripts written without spaces): bracket it in place."""
    lowered = text.lower()
    for term in query.positive:
        i = lowered.find(term.text.lower())
        if i >= 0:
            j = i + len(term.text)
            lo, hi = max(0, i - around), min(len(text), j + around)
            inner = f"{text[lo:i]}[{text[i:j]}]{text[j:hi]}"
            return ("…" if lo else "") + inner + ("…" if hi < len(text) else "")
    return None


def _cut(text: str, tokens: list[re.Match[str]], width: int) -> str:
    if len(tokens) <= width:
        return text
    return text[: tokens[width - 1].end()] + "…"
