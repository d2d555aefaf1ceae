"""Is a model's handover text grounded in the encounter? Every number, vital, sign, category,
drug and time it states must be in the facts the template wrote; anything else and the model's
text is discarded, the template's note stands, and the nurse is told why.

Small local models invent ("30% of patients are dying"), repeat themselves and drop words when
they translate. A note is a clinical record: it may say less than the facts, never more.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from edgemed.i18n import _

# Medicines a small model likes to suggest. The facts never name one: any mention is invented.
# (International non-proprietary names and common brands, lower case, as typed in the six
# languages; a word list, not a formulary.)
DRUG_WORDS = frozenset(
    (
        "paracetamol",
        "acetaminophen",
        "panadol",
        "tylenol",
        "doliprane",
        "ibuprofen",
        "brufen",
        "advil",
        "aspirin",
        "aspirine",
        "aspirina",
        "diclofenac",
        "morphine",
        "morphina",
        "morfina",
        "tramadol",
        "codeine",
        "codeina",
        "amoxicillin",
        "amoxicilline",
        "amoxicilina",
        "ampicillin",
        "gentamicin",
        "ceftriaxone",
        "penicillin",
        "penicilline",
        "penicilina",
        "cotrimoxazole",
        "metronidazole",
        "ciprofloxacin",
        "doxycycline",
        "azithromycin",
        "artemether",
        "lumefantrine",
        "coartem",
        "artesunate",
        "quinine",
        "chloroquine",
        "salbutamol",
        "ventolin",
        "adrenaline",
        "epinephrine",
        "adrenalina",
        "epinefrina",
        "hydrocortisone",
        "prednisolone",
        "dexamethasone",
        "insulin",
        "insuline",
        "insulina",
        "glucose",
        "oxytocin",
        "ocytocine",
        "oxitocina",
        "misoprostol",
        "magnesium",
        "sulphate",
        "sulfate",
        "diazepam",
        "valium",
        "phenobarbital",
        "antibiotic",
        "antibiotics",
        "antibiotique",
        "antibiotiques",
        "antibiotico",
        "antibioticos",
        "antibiótico",
        "antibióticos",
        "dawa",
        "vidonge",
        "sindano",
    )
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Grounding:
    ok: bool
    problems: tuple[str, ...] = ()

    def reason(self) -> str:
        return "; ".join(self.problems)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _numbers(text: str) -> set[str]:
    # Arabic-Indic digits count as digits too.
    ascii_digits = "".join(
        str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c for c in text
    )
    return {f"{float(n.replace(',', '.')):g}" for n in _NUMBER.findall(ascii_digits)}


def check_grounding(
    model_text: str,
    facts: str,
    allowed_phrases: Iterable[str],
    forbidden_phrases: Iterable[str],
) -> Grounding:
    """``allowed_phrases``: labels of what the encounter holds (present signs, the category's
    colour and word); ``forbidden_phrases``: labels of signs NOT confirmed present and of the
    other categories. A phrase counts when its words all appear in the model's text."""
    problems: list[str] = []
    invented = sorted(_numbers(model_text) - _numbers(facts), key=lambda n: (len(n), n))
    if invented:
        problems.append(
            _("numbers that are not in the encounter: {items}").format(items=", ".join(invented))
        )
    words = {_fold(w) for w in _WORD.findall(model_text)}
    drugs = sorted(w for w in words if w in DRUG_WORDS)
    if drugs:
        problems.append(
            _("medicines the encounter does not name: {items}").format(items=", ".join(drugs))
        )
    folded = _fold(model_text)
    allowed = [_fold(p) for p in allowed_phrases if p.strip()]
    stray = []
    for phrase in forbidden_phrases:
        key = _fold(phrase).strip()
        if not key or any(key in a for a in allowed):
            continue
        if re.search(r"(?<!\w)" + re.escape(key) + r"(?!\w)", folded):
            stray.append(phrase)
    if stray:
        problems.append(
            _("signs or categories that were not found: {items}").format(items=", ".join(stray))
        )
    if _repeats(model_text):
        problems.append(_("the same phrase repeated"))
    return Grounding(not problems, tuple(problems))


def _repeats(text: str, n: int = 4, times: int = 3) -> bool:
    """A run of ``n`` words said ``times`` times or more: a looping model."""
    words = [_fold(w) for w in _WORD.findall(text)]
    seen: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - n + 1):
        key = tuple(words[i : i + n])
        seen[key] = seen.get(key, 0) + 1
        if seen[key] >= times:
            return True
    return False
