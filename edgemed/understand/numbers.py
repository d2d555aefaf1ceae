"""Numbers in the text -> proposed vitals (and age, duration), each with its span.

"T=104", "fever (101)", "heart rate of 112 bpm", "BP 95/65", "O2 saturation on room air of 91%",
"48 y/o", "miaka 48", "18 mois". Fahrenheit is recognised by its range and converted, because
the vignettes and many patients' thermometers use it. Values outside what a living patient can
show are dropped here rather than proposed: the protocol's own vital limits judge the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgemed.understand.lexicon import Lexicon, VitalCue
from edgemed.understand.proposal import VitalProposal
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
    # The two halves of one blood pressure share a span and do not exclude each other.
    return any(
        hit.start < t.end and t.start < hit.end and (t.start, t.end) != (hit.start, hit.end)
        for t in taken
    )


def find_vitals(text: str, lexicon: Lexicon) -> list[VitalProposal]:
    """Every measurement-like number in ``text``, age first, one proposal per field."""
    folded: FoldedText = fold(text)
    f = folded.folded
    taken: list[_Hit] = []
    # Age before duration: "48-year-old" is an age, not a 48-year history.
    order = ["age_months", "age_years", "bp"] + [
        k for k in lexicon.vitals if k not in ("age_months", "age_years", "bp")
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
