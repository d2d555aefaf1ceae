"""Method (a): find the lexicon's words in the text, then read their negation."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache

from edgemed.protocol.domain import Presence
from edgemed.understand.lexicon import Lexicon, term_pattern
from edgemed.understand.negation import presence_of
from edgemed.understand.proposal import LEXICON, Proposal
from edgemed.understand.text import FoldedText, fold

# How sure a lexicon hit is, by what the cues said about it: an exact word is strong evidence,
# a hedge ("maybe") deliberately is not.
CONFIDENCE = {Presence.PRESENT: 0.9, Presence.ABSENT: 0.85, Presence.UNKNOWN: 0.5}


@dataclass(frozen=True)
class Mention:
    finding_id: str
    presence: Presence
    start: int
    end: int


@cache
def _compiled(lexicon: Lexicon) -> tuple[tuple[str, bool, re.Pattern[str]], ...]:
    """(finding id, is-an-absent-term, pattern) for every term, longest terms first."""
    rows: list[tuple[str, bool, str]] = []
    for fid, words in lexicon.terms.items():
        rows.extend((fid, False, w) for w in words)
    for fid, words in lexicon.absent_terms.items():
        rows.extend((fid, True, w) for w in words)
    rows.sort(key=lambda r: len(r[2]), reverse=True)
    return tuple(
        (fid, absent, re.compile(term_pattern(w, lexicon.word_prefixes))) for fid, absent, w in rows
    )


def mask_ignored(lexicon: Lexicon, folded: str) -> str:
    """Blank out phrases that contain a finding's word but mean something else ("hay fever")."""
    for phrase in lexicon.ignore:
        folded = re.sub(
            term_pattern(phrase, lexicon.word_prefixes), lambda m: " " * len(m[0]), folded
        )
    return folded


def mentions(
    lexicon: Lexicon, folded: str, allowed: Collection[str] | None = None
) -> list[Mention]:
    """Every lexicon hit in a folded text, with its presence."""
    folded = mask_ignored(lexicon, folded)
    found: list[Mention] = []
    taken: dict[str, list[tuple[int, int]]] = {}
    for fid, absent, pattern in _compiled(lexicon):
        if allowed is not None and fid not in allowed:
            continue
        for m in pattern.finditer(folded):
            spans = taken.setdefault(fid, [])
            # A shorter term of the same finding inside a longer hit is the same mention.
            if any(m.start() < b and a < m.end() for a, b in spans):
                continue
            spans.append((m.start(), m.end()))
            if absent:
                presence = Presence.ABSENT
            else:
                presence = presence_of(lexicon, folded, m.start(), m.end())
            found.append(Mention(fid, presence, m.start(), m.end()))
    found.sort(key=lambda x: x.start)
    return found


def merge_mentions(
    text: FoldedText, found: Iterable[Mention], method: str, confidence: dict[Presence, float]
) -> list[Proposal]:
    """One proposal per finding: any asserted mention wins over a hedge, a hedge over a denial.

    Asserted wins because a wrongly proposed sign costs the nurse one tap to reject, while a
    missed one can cost the patient a category.
    """
    rank = {Presence.PRESENT: 0, Presence.UNKNOWN: 1, Presence.ABSENT: 2}
    best: dict[str, Mention] = {}
    for m in found:
        kept = best.get(m.finding_id)
        if kept is None or rank[m.presence] < rank[kept.presence]:
            best[m.finding_id] = m
    proposals = []
    for m in best.values():
        a, b = text.span(m.start, m.end)
        proposals.append(
            Proposal(
                finding_id=m.finding_id,
                presence=m.presence,
                confidence=confidence[m.presence],
                method=method,
                span=(a, b),
                evidence=text.original[a:b],
            )
        )
    return proposals


def propose_by_lexicon(
    text: str, lexicon: Lexicon, allowed: Collection[str] | None = None
) -> list[Proposal]:
    """Method (a) alone: proposals from the locale's words."""
    folded = fold(text)
    return merge_mentions(folded, mentions(lexicon, folded.folded, allowed), LEXICON, CONFIDENCE)
