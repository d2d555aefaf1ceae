"""Is a mention asserted, denied or only wondered about?

A NegEx-style reading kept deliberately simple and per-locale: a negation cue before the
mention, inside the same clause and not cut off by a scope break ("no fever, but vomiting"),
denies it; "pas de convulsions", "hana homa", "بدون حمى" all work the same way from the data in
the lexicon files. Commas do not end a negation, because lists do: "denies fever, chills or
vomiting" denies all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from edgemed.protocol.domain import Presence
from edgemed.understand.lexicon import Lexicon, cue_pattern
from edgemed.understand.text import clause_bounds

# How far back a negation cue reaches: long enough for a list of five symptoms.
NEGATION_REACH = 90
# How far after the mention a trailing cue ("fever (resolved)", "homa hakuna") may be.
TRAILING_REACH = 28
UNCERTAINTY_REACH = 40


@dataclass(frozen=True)
class Cues:
    before: re.Pattern[str] | None
    after: re.Pattern[str] | None
    uncertain: re.Pattern[str] | None
    breaks: re.Pattern[str] | None


@cache
def negation_cues(lexicon: Lexicon) -> Cues:
    """The lexicon's cue words compiled once."""
    return Cues(
        before=cue_pattern(lexicon.negation_before, lexicon.word_prefixes),
        after=cue_pattern(lexicon.negation_after, lexicon.word_prefixes),
        uncertain=cue_pattern(lexicon.uncertainty, lexicon.word_prefixes),
        breaks=cue_pattern(lexicon.scope_break, lexicon.word_prefixes),
    )


def _last(pattern: re.Pattern[str] | None, text: str) -> re.Match[str] | None:
    if pattern is None:
        return None
    found = None
    for m in pattern.finditer(text):
        found = m
    return found


def presence_of(lexicon: Lexicon, folded: str, start: int, end: int) -> Presence:
    """PRESENT, ABSENT (negated) or UNKNOWN (hedged) for the mention at [start, end)."""
    cues = negation_cues(lexicon)
    clause_start, _clause_end = clause_bounds(folded, start)
    window_start = max(clause_start, start - NEGATION_REACH)
    before = folded[window_start:start]
    negation = _last(cues.before, before)
    if negation is not None:
        between = before[negation.end() :]
        if _last(cues.breaks, between) is None:
            return Presence.ABSENT
    # Trailing cues: "fever (resolved)", "homa hakuna"; stop at the end of the sentence.
    after = re.split(r"[.;\n]", folded[end : end + TRAILING_REACH], maxsplit=1)[0]
    if cues.after is not None and cues.after.search(after):
        return Presence.ABSENT
    hedge_window = folded[max(clause_start, start - UNCERTAINTY_REACH) : start]
    hedge = _last(cues.uncertain, hedge_window)
    if hedge is not None:
        # "labda ana homa", "maybe has a fever": a verb right after the hedge is still hedged.
        rest = hedge_window[hedge.end() :].lstrip()
        first_word = re.match(r"\w+", rest)
        if (
            first_word is not None
            and cues.breaks is not None
            and cues.breaks.fullmatch(first_word[0])
        ):
            rest = rest[first_word.end() :]
        if _last(cues.breaks, rest) is None:
            return Presence.UNKNOWN
    if after.lstrip().startswith("?"):
        return Presence.UNKNOWN
    return Presence.PRESENT
