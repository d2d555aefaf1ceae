"""Per-locale lexicons: the words patients and nurses use for each protocol finding.

The lexicons are data (``lexicon/<locale>.toml``) so a clinic's nurse can add the words used in
their district without touching code. Each file has the locale's negation and uncertainty cues,
the keywords that introduce a measurement, and ``[terms]`` / ``[absent_terms]`` keyed by the
protocol's finding ids.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from edgemed.errors import InputError
from edgemed.i18n import _
from edgemed.understand.text import fold_plain

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LEXICON_DIR = Path(__file__).resolve().parent / "lexicon"


@dataclass(frozen=True)
class VitalCue:
    """Words that introduce a measurement before (``before``) or after (``after``) the number."""

    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Lexicon:
    """One locale's words, already folded for matching (hashed by identity: loaded once)."""

    locale: str
    direction: str
    word_prefixes: tuple[str, ...]
    negation_before: tuple[str, ...]
    negation_after: tuple[str, ...]
    uncertainty: tuple[str, ...]
    scope_break: tuple[str, ...]
    ignore: tuple[str, ...]
    vitals: Mapping[str, VitalCue]
    durations: Mapping[str, tuple[str, ...]]
    terms: Mapping[str, tuple[str, ...]]
    absent_terms: Mapping[str, tuple[str, ...]]

    def finding_ids(self) -> set[str]:
        return set(self.terms) | set(self.absent_terms)


def available_locales() -> list[str]:
    """Locales that ship a lexicon."""
    return sorted(p.stem for p in LEXICON_DIR.glob("*.toml"))


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(_("Lexicon entry {where} must be a list of strings.").format(where=where))
    return tuple(fold_plain(v) for v in value)


def _table(raw: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise InputError(_("Lexicon section [{key}] must be a table.").format(key=key))
    return value


def parse_lexicon(locale: str, raw: Mapping[str, object]) -> Lexicon:
    """Build a :class:`Lexicon` from a parsed TOML document."""
    head = _table(raw, "locale")
    cues = _table(raw, "cues")
    vitals: dict[str, VitalCue] = {}
    for name, cue in _table(raw, "vitals").items():
        if not isinstance(cue, dict):
            raise InputError(_("Lexicon vital {name} must be a table.").format(name=name))
        vitals[name] = VitalCue(
            before=_strings(cue.get("before", []), f"vitals.{name}.before"),
            after=_strings(cue.get("after", []), f"vitals.{name}.after"),
        )
    return Lexicon(
        locale=locale,
        direction=str(head.get("direction", "ltr")),
        word_prefixes=_strings(head.get("word_prefixes", []), "locale.word_prefixes"),
        negation_before=_strings(cues.get("negation_before", []), "cues.negation_before"),
        negation_after=_strings(cues.get("negation_after", []), "cues.negation_after"),
        uncertainty=_strings(cues.get("uncertainty", []), "cues.uncertainty"),
        scope_break=_strings(cues.get("scope_break", []), "cues.scope_break"),
        ignore=_strings(cues.get("ignore", []), "cues.ignore"),
        vitals=vitals,
        durations={k: _strings(v, f"durations.{k}") for k, v in _table(raw, "durations").items()},
        terms={k: _strings(v, f"terms.{k}") for k, v in _table(raw, "terms").items()},
        absent_terms={
            k: _strings(v, f"absent_terms.{k}") for k, v in _table(raw, "absent_terms").items()
        },
    )


@cache
def load_lexicon(locale: str) -> Lexicon:
    """The lexicon of ``locale`` ("fr", "pt_BR" falls back to "pt")."""
    base = locale.replace("-", "_").split("_")[0].lower()
    path = LEXICON_DIR / f"{base}.toml"
    if not path.is_file():
        raise InputError(
            _("No lexicon for language {locale}.").format(locale=locale),
            hint=_("Shipped languages: {langs}").format(langs=", ".join(available_locales())),
        )
    with path.open("rb") as fh:
        return parse_lexicon(base, tomllib.load(fh))


@cache
def raw_terms(locale: str) -> dict[str, tuple[str, ...]]:
    """The lexicon's phrases as written (not folded), for embedding them."""
    base = locale.replace("-", "_").split("_")[0].lower()
    with (LEXICON_DIR / f"{base}.toml").open("rb") as fh:
        terms = tomllib.load(fh).get("terms", {})
    return {k: tuple(v) for k, v in terms.items() if isinstance(v, list)}


def term_pattern(term: str, prefixes: tuple[str, ...] = ()) -> str:
    """A regex for one folded lexicon term.

    ``*`` at either end lets the term sit inside a longer word (Swahili verbs carry subject and
    tense prefixes: "anatapika", "alitapika"); ``..`` between words allows up to two words in
    between ("severe abdominal pain" for "severe .. pain"); locale prefixes (Arabic "و", "ال")
    may be glued to the front.
    """
    lead = r"\w*" if term.startswith("*") else ""
    tail = r"\w*" if term.endswith("*") else ""
    core = term.strip("*").strip()
    pieces = [re.escape(p.strip()) for p in core.split("..")]
    body = r"(?:\W+\w+){0,4}?\W+".join(pieces)
    body = re.sub(r"\\ ", r"\\s+", body)
    prefix = ""
    if prefixes and not lead:
        prefix = "(?:" + "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
        prefix += ")?"
    return rf"(?<!\w){prefix}{lead}{body}{tail}(?!\w)"


def cue_pattern(cues: tuple[str, ...], prefixes: tuple[str, ...] = ()) -> re.Pattern[str] | None:
    """One compiled alternation of cue words, longest first."""
    if not cues:
        return None
    alts = [term_pattern(c, prefixes) for c in sorted(cues, key=len, reverse=True)]
    return re.compile("|".join(alts))
