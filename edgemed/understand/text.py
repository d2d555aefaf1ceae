"""Folding text for matching while keeping every offset into what the nurse typed.

Nurses type on whatever keyboard the clinic has: accents dropped ("fievre"), Arabic with or
without short vowels, Arabic-Indic digits. We match on a folded copy and map every match back
to the original characters, so the evidence span highlights exactly what was typed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Arabic short vowels, shadda, sukun and tatweel carry no meaning for matching.
_ARABIC_MARKS = set(range(0x064B, 0x0660)) | {0x0670, 0x0640}
# Arabic letter variants a typist uses interchangeably.
_ARABIC_FOLD = {"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"}
_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {
    chr(0x06F0 + i): str(i) for i in range(10)
}
_PUNCT = {"’": "'", "‘": "'", "،": ",", "؛": ";", "؟": "?", "«": '"', "»": '"'}


@dataclass(frozen=True)
class FoldedText:
    """A folded copy of ``original`` and, per folded character, its offset in the original."""

    original: str
    folded: str
    offsets: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) range of the folded text back to the original text."""
        if start >= len(self.offsets):
            return (len(self.original), len(self.original))
        first = self.offsets[start]
        last = self.offsets[end - 1] + 1 if end > start else first
        return (first, last)

    def evidence(self, start: int, end: int) -> str:
        a, b = self.span(start, end)
        return self.original[a:b]


def fold_char(ch: str) -> str:
    """Lower-case, strip accents and fold Arabic variants; '' for a character to drop."""
    if ord(ch) in _ARABIC_MARKS:
        return ""
    if ch in _DIGITS:
        return _DIGITS[ch]
    if ch in _PUNCT:
        return _PUNCT[ch]
    if ch in _ARABIC_FOLD:
        return _ARABIC_FOLD[ch]
    decomposed = unicodedata.normalize("NFD", ch.casefold())
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base


def fold(text: str) -> FoldedText:
    """Fold ``text`` for matching, remembering where every folded character came from."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        for piece in fold_char(ch):
            out.append(piece)
            offsets.append(i)
    return FoldedText(original=text, folded="".join(out), offsets=tuple(offsets))


def fold_plain(text: str) -> str:
    """The folded form alone, for lexicon terms."""
    return fold(text).folded


# A clause ends at sentence punctuation or a bracket; commas do NOT end one, because
# "no fever, chills or vomiting" negates the whole list.
_CLAUSE_END = re.compile(r"[.;:!?()\[\]\n]")


def clause_bounds(folded: str, position: int) -> tuple[int, int]:
    """The [start, end) of the clause around ``position`` in a folded text."""
    start = 0
    for m in _CLAUSE_END.finditer(folded, 0, position):
        start = m.end()
    after = _CLAUSE_END.search(folded, position)
    end = after.start() if after else len(folded)
    return start, end


def clauses(folded: str) -> list[tuple[int, int]]:
    """Split a folded text into clauses, also at commas (for embedding short pieces)."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for m in re.finditer(r"[.;:!?()\[\]\n,]", folded):
        if folded[start : m.start()].strip():
            bounds.append((start, m.start()))
        start = m.end()
    if folded[start:].strip():
        bounds.append((start, len(folded)))
    return bounds
