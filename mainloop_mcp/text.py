"""Words as search compares them: lower case, accents folded (like the index's remove_diacritics)."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case without accents: how the index compares words (remove_diacritics)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def stem(word: str) -> str:
    """A crude stem, the first five letters: 'weddings' and 'wedding' meet, as the index's porter
    stems would (approximately; used where the index cannot be asked)."""
    return word[:5]
