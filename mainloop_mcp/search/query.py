"""Any text in, a TextQuery out: the query language of `search` and `ask_status`.

Plain text (a question, a sentence, a few words) becomes an OR of its meaningful terms: stop words
are dropped unless nothing else is left, and ranking (BM25, stemmed) does the rest. Explicit syntax
stays available:
    "exact phrase"     required, as a phrase
    +word   word AND other    required
    -word   NOT word          excluded
    prefix*                   any word starting with `prefix`
A compound token keeps its inner punctuation (`snake_case`, `a.b.c`, `x@y.org`, `src/app.py`, `$5`):
backends match its parts as a phrase. Anything else (unbalanced quotes, `NEAR(`, `col:`, `^`, NUL)
is plain text, never engine syntax. Every term is quoted when rendered, so nothing is injected.
"""

from __future__ import annotations

import re

from mainloop_mcp.errors import InvalidInput
from mainloop_mcp.model import QueryTerm, TextQuery
from mainloop_mcp.search.stopwords import STOP_WORDS

MAX_QUERY_CHARS = 10_000
MAX_TERMS = 32
_PIECE = re.compile(r'([+-]?)"([^"]*)"|(\S+)')
_EDGE = re.compile(r"^[^\w$#@/~.]+|[^\w]+$")  # punctuation around a token (keeps $5, #tag, @user, /path, .env)
_SPLIT = re.compile(r"[^\w.\-@/$#'~+]+")  # inside a token, these join (a.b, x@y, a/b, it's); others split
_WORD = re.compile(r"\w")
_OPERATORS = {"AND", "OR", "NOT"}


def parse(text: str) -> TextQuery:
    """Parse any text; raise InvalidInput (one clear line) only when there is nothing to look for."""
    text = text.replace("\x00", " ")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query is {len(text):,} characters; keep it under {MAX_QUERY_CHARS:,}")
    should: list[QueryTerm] = []
    must: list[QueryTerm] = []
    must_not: list[QueryTerm] = []
    stop: list[QueryTerm] = []
    pending: str | None = None  # "AND" or "NOT" waiting for the next term
    previous: list[QueryTerm] | None = None  # where the last term went (AND moves it to `must`)
    for match in _PIECE.finditer(_balanced(text)):
        quote_sign, phrase, token = match.group(1), match.group(2), match.group(3)
        if token in _OPERATORS:
            pending = token if token != "OR" else None
            continue
        terms, sign = _terms(phrase, token)
        sign = quote_sign or sign
        if not terms:
            continue
        if pending == "AND" and previous is should and should:
            must.append(should.pop())
        for term in terms:
            target = _target(sign, pending, phrase is not None, should, must, must_not)
            if target is should and is_stop_word(term.text):
                target = stop
            if term not in target:
                target.append(term)
            previous = target
        pending = None
    if not should and not must:
        should = stop  # only stop words: search for them rather than for nothing
    if not should and not must:
        what = "only excluded terms" if must_not else "no words"
        raise InvalidInput(f"query {_short(text)!r} has {what} to search for; pass some words, e.g. 'deploy plan'")
    return TextQuery(
        should=tuple(should[:MAX_TERMS]), must=tuple(must[:MAX_TERMS]), must_not=tuple(must_not[:MAX_TERMS])
    )


def is_stop_word(text: str) -> bool:
    """A stop word, also with a clitic: what's, I'm, don't, we'll."""
    word, _, clitic = text.lower().replace("’", "'").partition("'")
    return word in STOP_WORDS and clitic in {"", "s", "re", "ll", "ve", "d", "t", "m"}


def _balanced(text: str) -> str:
    """An odd quote count: the last quote is plain text, not the start of a phrase."""
    if text.count('"') % 2:
        i = text.rfind('"')
        text = text[:i] + " " + text[i + 1 :]
    return text


def _terms(phrase: str | None, token: str | None) -> tuple[list[QueryTerm], str]:
    """The terms of one quoted phrase or one whitespace-separated token, and its sign (+, - or none)."""
    if phrase is not None:
        words = " ".join(phrase.split())
        return ([QueryTerm(text=words)] if _WORD.search(words) else []), "+"
    assert token is not None
    sign = ""
    if token[0] in "+-" and len(token) > 1 and (_WORD.match(token[1]) or token[1] in "$#@"):
        sign, token = token[0], token[1:]
    prefix = token.endswith("*")
    parts = [_EDGE.sub("", p) for p in _SPLIT.split(token.rstrip("*"))]
    parts = [p for p in parts if _WORD.search(p)]
    return [QueryTerm(text=p, prefix=prefix and i == len(parts) - 1) for i, p in enumerate(parts)], sign


def _target(
    sign: str,
    pending: str | None,
    quoted: bool,
    should: list[QueryTerm],
    must: list[QueryTerm],
    must_not: list[QueryTerm],
) -> list[QueryTerm]:
    if sign == "-" or pending == "NOT":
        return must_not
    if sign == "+" or pending == "AND" or quoted:  # a quoted phrase is required
        return must
    return should


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."
