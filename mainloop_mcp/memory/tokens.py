"""The one token estimator: about 4 characters per token.

That is the usual rule of thumb for English under BPE tokenizers (Claude's and GPT's); it needs
no model files and is the same on every machine, so budgets are reproducible.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def clip_to_tokens(text: str, limit: int) -> str:
    """Cut `text` so its estimate is at most `limit`, at a line or word boundary where possible."""
    if estimate_tokens(text) <= limit:
        return text
    cut = text[: limit * CHARS_PER_TOKEN - 1]
    for boundary in ("\n", " "):
        at = cut.rfind(boundary)
        if at > len(cut) // 2:
            cut = cut[:at]
            break
    return cut.rstrip() + "…"
