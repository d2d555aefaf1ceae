"""Numbers in the text -> proposed vitals (and age, duration), each with its span.

"T=104", "fever (101)", "heart rate of 112 bpm", "BP 95/65", "O2 saturation on room air of 91%",
"48 y/o", "miaka 48", "18 mois". Fahrenheit is recognised by its range and converted, because
the vignettes and many patients' thermometers use it. Values outside what a living patient can
show are dropped here rather than proposed: the protocol's own vital limits judge the rest.

Burns given as a share of the body surface ("burns over 30% of the body", "brulure de 25 %",
"asilimia 30") are a finding, not a vital: ``find_burn_percent`` reads the number next to one of
the locale's burn words and proposes ``burn_over_20_percent`` when it is 20% or more (SATS's
"burn > 20%"; 20 itself is included, the more urgent reading), nothing below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgemed.protocol.domain import Presence
from edgemed.understand.lexicon import Lexicon, VitalCue, term_pattern
from edgemed.understand.negation import presence_of
from edgemed.understand.proposal import LEXICON, Proposal, VitalProposal
from edgemed.understand.text import FoldedText, fold

_NUMBER = r"(\d{1,3}(?:[.,]\d{1,2}(?!\d))?)"
# Up to this many non-digit characters between a keyword and its number ("heart rate of ").
_GAP = r"[^\d\n.;]{0,22}?"

# Plausible ranges for proposing at all (Celsius for temperature).
_RANGES: dict[str, tuple[float, float]] = {
    "hr": (20, 260),
    "rr": (3, 90),
    "temp_c": (30, 44),
    "spo2": (40, 100),
    "sbp": (40, 300),
    "dbp": (20, 200),
    "age_years": (0, 120),
    "age_months": (0, 36),
    "glucose_mmol": (0.5, 60),
}
_HOURS = {"minutes": 1 / 60, "hours": 1.0, "days": 24.0, "weeks": 168.0, "months": 720.0}

# Burns as a percentage of body surface: the lexicon's [vitals.burn_percent] cue gives the
# words around the number ("%", "percent", "asilimia"), its [terms] burn / burn_other the burn
# words. A burn word and its number sit in one clause, at most this many characters apart.
BURN_PERCENT = "burn_percent"
BURN_FINDING = "burn_over_20_percent"
BURN_THRESHOLD = 20.0
_BURN_WORD_IDS = ("burn_other", "burn", BURN_FINDING)
_BURN_REACH = 60
_CLAUSE_BREAK = re.compile(r"[.;:!?\n()]")
# Matches how the lexicon method rates an asserted, denied or hedged word.
_BURN_CONFIDENCE = {Presence.PRESENT: 0.9, Presence.ABSENT: 0.85, Presence.UNKNOWN: 0.5}


@dataclass(frozen=True)
class _Hit:
    field: str
    value: float
    start: int
    end: int


def _to_float(raw: str) -> float:
    return float(raw.replace(",", "."))


def _alternation(words: tuple[str, ...]) -> str:
    parts = sorted(words, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s*") for w in parts) + ")"


def _temperature(value: float) -> float | None:
    if 30 <= value <= 44:
        return value
    if 86 <= value <= 111:  # Fahrenheit
        return round((value - 32) * 5 / 9, 1)
    return None


def _accept(field: str, value: float) -> float | None:
    if field == "temp_c":
        return _temperature(value)
    low, high = _RANGES.get(field, (float("-inf"), float("inf")))
    return value if low <= value <= high else None


def _cue_hits(folded: str, field: str, cue: VitalCue) -> list[_Hit]:
    hits: list[_Hit] = []
    patterns = []
    if cue.before:
        patterns.append(rf"(?<!\w){_alternation(cue.before)}(?!\w){_GAP}{_NUMBER}")
    if cue.after:
        patterns.append(rf"{_NUMBER}\s*-?\s*{_alternation(cue.after)}(?!\w)")
    for pattern in patterns:
        for m in re.finditer(pattern, folded):
            value = _accept(field, _to_float(m.group(1)))
            if value is not None:
                hits.append(_Hit(field, value, m.start(), m.end()))
    return hits


def _blood_pressure(folded: str, cue: VitalCue | None) -> list[_Hit]:
    hits: list[_Hit] = []
    pair = r"(\d{2,3})\s*/\s*(\d{2,3})"
    patterns = [rf"{pair}\s*mm\s*hg"]
    if cue is not None and cue.before:
        patterns.append(rf"(?<!\w){_alternation(cue.before)}(?!\w){_GAP}{pair}")
    for pattern in patterns:
        for m in re.finditer(pattern, folded):
            sbp, dbp = float(m.group(1)), float(m.group(2))
            if _accept("sbp", sbp) is not None and _accept("dbp", dbp) is not None and dbp < sbp:
                hits.append(_Hit("sbp", sbp, m.start(), m.end()))
                hits.append(_Hit("dbp", dbp, m.start(), m.end()))
    return hits


def _durations(folded: str, lexicon: Lexicon) -> list[_Hit]:
    hits: list[_Hit] = []
    for unit, words in lexicon.durations.items():
        if unit not in _HOURS or not words:
            continue
        alt = _alternation(words)
        # "5 days", "5-day", and "siku 5" / "منذ 5 أيام" orders.
        for pattern in (rf"{_NUMBER}\s*-?\s*{alt}(?!\w)", rf"(?<!\w){alt}\s+{_NUMBER}"):
            for m in re.finditer(pattern, folded):
                hits.append(_Hit("duration_hours", _to_float(m.group(1)) * _HOURS[unit], *m.span()))
    return hits


def _overlaps(hit: _Hit, taken: list[_Hit]) -> bool:
    # The two halves of one blood pressure share a span and do not exclude each other; any
    # other reading of the same words does ("٦ اشهر" is an age of 6 months, not also a duration).
    return any(
        hit.start < t.end
        and t.start < hit.end
        and not (
            {hit.field, t.field} == {"sbp", "dbp"} and (t.start, t.end) == (hit.start, hit.end)
        )
        for t in taken
    )


def find_vitals(text: str, lexicon: Lexicon) -> list[VitalProposal]:
    """Every measurement-like number in ``text``, age first, one proposal per field."""
    folded: FoldedText = fold(text)
    f = folded.folded
    taken: list[_Hit] = []
    # Age before duration: "48-year-old" is an age, not a 48-year history.
    order = ["age_months", "age_years", "bp"] + [
        k for k in lexicon.vitals if k not in ("age_months", "age_years", "bp", BURN_PERCENT)
    ]
    for field in order:
        if field == "bp":
            candidates = _blood_pressure(f, lexicon.vitals.get("bp"))
        elif field in lexicon.vitals:
            candidates = _cue_hits(f, field, lexicon.vitals[field])
        else:
            continue
        for hit in candidates:
            if any(t.field == hit.field for t in taken) or _overlaps(hit, taken):
                continue
            taken.append(hit)
    for hit in _durations(f, lexicon):
        if not _overlaps(hit, taken) and not any(t.field == "duration_hours" for t in taken):
            taken.append(hit)
    proposals = []
    for hit in sorted(taken, key=lambda h: h.start):
        a, b = folded.span(hit.start, hit.end)
        proposals.append(VitalProposal(hit.field, hit.value, (a, b), text[a:b]))
    return proposals


def _percentages(folded: str, cue: VitalCue) -> list[tuple[float, int, int]]:
    """(value, start, end) of every "30%" / "30 percent" / "asilimia 30" in a folded text."""
    found: list[tuple[float, int, int]] = []
    patterns = []
    if cue.after:
        # "%" is not a word character: only a following letter or digit ends the match early.
        patterns.append(rf"(?<![\d.,]){_NUMBER}\s*{_alternation(cue.after)}(?![a-z0-9])")
    if cue.before:
        patterns.append(rf"(?<!\w){_alternation(cue.before)}(?!\w)\s*{_NUMBER}(?![\d])")
    for pattern in patterns:
        for m in re.finditer(pattern, folded):
            found.append((_to_float(m.group(1)), m.start(), m.end()))
    return found


def _burn_words(lexicon: Lexicon) -> re.Pattern[str] | None:
    words = sorted(
        {
            w
            for fid in _BURN_WORD_IDS
            for w in lexicon.terms.get(fid, ())
            if not any(ch.isdigit() for ch in w)
        },
        key=len,
        reverse=True,
    )
    if not words:
        return None
    return re.compile("|".join(term_pattern(w, lexicon.word_prefixes) for w in words))


def _same_clause(folded: str, a: int, b: int) -> bool:
    return b - a <= _BURN_REACH and _CLAUSE_BREAK.search(folded, a, b) is None


def find_burn_percent(text: str, lexicon: Lexicon) -> list[Proposal]:
    """``burn_over_20_percent`` proposed from a burn given as >= 20% of the body surface.

    "burns over 30% of the body", "30% burns", "brulure de 25 %", "ameungua asilimia 30 ya
    mwili", "حروق بنسبة ٣٠٪": one proposal, its span from the burn word to the number. A burn
    under 20% proposes nothing here (the plain burn words still propose a burn). Negation and
    hedging are read at the burn word, as for any lexicon word.
    """
    cue = lexicon.vitals.get(BURN_PERCENT)
    words = _burn_words(lexicon)
    if cue is None or words is None:
        return []
    folded = fold(text)
    f = folded.folded
    burns = [(m.start(), m.end()) for m in words.finditer(f)]
    best: tuple[Presence, int, int] | None = None
    rank = {Presence.PRESENT: 0, Presence.UNKNOWN: 1, Presence.ABSENT: 2}
    for value, p_start, p_end in _percentages(f, cue):
        if not BURN_THRESHOLD <= value <= 100:
            continue
        near = [
            (b_start, b_end)
            for b_start, b_end in burns
            if (b_end <= p_start and _same_clause(f, b_start, p_start))
            or (b_start >= p_end and _same_clause(f, p_end, b_end))
        ]
        if not near:
            continue
        b_start, b_end = min(near, key=lambda b: min(abs(b[0] - p_end), abs(p_start - b[1])))
        presence = presence_of(lexicon, f, b_start, b_end)
        start, end = min(b_start, p_start), max(b_end, p_end)
        if best is None or rank[presence] < rank[best[0]]:
            best = (presence, start, end)
    if best is None:
        return []
    presence, start, end = best
    a, b = folded.span(start, end)
    return [
        Proposal(BURN_FINDING, presence, _BURN_CONFIDENCE[presence], LEXICON, (a, b), text[a:b])
    ]
