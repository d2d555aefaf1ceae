"""A clinical case set: written cases, each with the least urgent category a competent nurse
following the protocols could accept and the category the protocols would give, run through
the engine to count under-triage and over-triage.

One JSON object per line of a ``.jsonl`` file::

    {"id": "adult-meningism-01", "group": "adult", "title": "...", "sign": "...",
     "source": "...", "case": {"patient": {...}, "vitals": {...}, "findings": [...]},
     "least_urgent": "orange", "expected": "red"}

``case`` is the ``edgemed assess`` case JSON (``edgemed.protocol.case``). A decision less urgent
than ``least_urgent`` is under-triage; one more urgent than ``expected`` is over-triage.

Pure: the standard library and ``edgemed.protocol`` only (no gettext; messages are plain English
and the command layer shows them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgemed.protocol import case as case_module
from edgemed.protocol.case import Case
from edgemed.protocol.domain import Category, Decision
from edgemed.protocol.errors import InvalidCase, ProtocolError

GROUPS = (
    "adult",
    "pregnancy",
    "child",
    "infant",
    "envenomation",
    "surgical",
    "trauma",
    "low-acuity",
)
REQUIRED_KEYS = ("id", "group", "title", "sign", "source", "case", "least_urgent", "expected")
# Case keys the engine is gaining; a case set may use them before the engine accepts them.
OPTIONAL_CASE_KEYS = ("unmeasurable", "concern")
_MAX_SHOWN = 80


class CaseBookError(ProtocolError):
    """The case-set file itself is wrong; the message names the file and the line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class ClinicalCase:
    """One written case and the categories it is judged against."""

    id: str
    group: str
    title: str
    sign: str
    source: str
    case: Mapping[str, Any]
    least_urgent: Category
    expected: Category
    line: int = 0


@dataclass(frozen=True)
class CaseOutcome:
    """What the engine decided for one case, judged against the case's two categories."""

    case: ClinicalCase
    decided: Category | None
    error: str | None = None
    ignored_keys: tuple[str, ...] = ()
    incomplete: bool | None = None
    reasons: tuple[str, ...] = ()

    @property
    def under(self) -> bool:
        """Decided less urgent than the least urgent acceptable category."""
        return self.decided is not None and self.case.least_urgent.is_more_urgent_than(self.decided)

    @property
    def over(self) -> bool:
        """Decided more urgent than the category the protocols would give."""
        return self.decided is not None and self.decided.is_more_urgent_than(self.case.expected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "group": self.case.group,
            "title": self.case.title,
            "sign": self.case.sign,
            "line": self.case.line,
            "decided": None if self.decided is None else self.decided.value,
            "least_urgent": self.case.least_urgent.value,
            "expected": self.case.expected.value,
            "under": self.under,
            "over": self.over,
            "error": self.error,
            "ignored_keys": list(self.ignored_keys),
            "incomplete": self.incomplete,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Totals:
    """Counts over a set of outcomes.

    ``under_rate`` is over the cases that can be under-triaged (``least_urgent`` is not green);
    ``over_rate`` over the cases that can be over-triaged (``expected`` is not red). Cases the
    engine refused (``errors``) are counted in neither.
    """

    n: int = 0
    evaluated: int = 0
    errors: int = 0
    under: int = 0
    under_possible: int = 0
    over: int = 0
    over_possible: int = 0
    exact: int = 0

    @property
    def under_rate(self) -> float | None:
        return self.under / self.under_possible if self.under_possible else None

    @property
    def over_rate(self) -> float | None:
        return self.over / self.over_possible if self.over_possible else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "evaluated": self.evaluated,
            "errors": self.errors,
            "under": self.under,
            "under_possible": self.under_possible,
            "under_rate": self.under_rate,
            "over": self.over,
            "over_possible": self.over_possible,
            "over_rate": self.over_rate,
            "exact": self.exact,
        }

    @classmethod
    def of(cls, outcomes: Iterable[CaseOutcome]) -> Totals:
        n = evaluated = errors = under = under_possible = over = over_possible = exact = 0
        for o in outcomes:
            n += 1
            if o.decided is None:
                errors += 1
                continue
            evaluated += 1
            if o.case.least_urgent is not Category.GREEN:
                under_possible += 1
            if o.case.expected is not Category.RED:
                over_possible += 1
            under += o.under
            over += o.over
            exact += o.decided is o.case.expected
        return cls(n, evaluated, errors, under, under_possible, over, over_possible, exact)


@dataclass(frozen=True)
class CaseBookReport:
    outcomes: tuple[CaseOutcome, ...]
    totals: Totals
    by_group: Mapping[str, Totals] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals.to_dict(),
            "by_group": {g: t.to_dict() for g, t in self.by_group.items()},
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _category(raw: object, key: str, where: str, line: int) -> Category:
    for member in Category:
        if raw == member.value:
            return member
    allowed = ", ".join(c.value for c in Category)
    raise CaseBookError(f"{where}: '{key}' must be one of {allowed}, got {_shown(raw)}.", line)


def _text(record: Mapping[str, Any], key: str, where: str, line: int) -> str:
    value = record[key]
    if not isinstance(value, str) or not value.strip():
        raise CaseBookError(f"{where}: '{key}' must be a non-empty string.", line)
    return value


def build_case(data: Mapping[str, Any]) -> tuple[Case, tuple[str, ...]]:
    """The engine's ``Case`` for a case dict, and the optional keys it had to leave out.

    ``unmeasurable`` and ``concern`` are left out only while ``Case`` does not accept them yet;
    anything else ``Case.from_dict`` refuses raises ``InvalidCase``.
    """
    present = tuple(k for k in OPTIONAL_CASE_KEYS if k in data)
    accepted = getattr(case_module, "CASE_KEYS", None)
    if accepted is not None:
        dropped = tuple(k for k in present if k not in accepted)
        kept = {k: v for k, v in data.items() if k not in dropped}
        return Case.from_dict(kept), dropped
    try:
        return Case.from_dict(data), ()
    except InvalidCase:
        if not present:
            raise
    kept = {k: v for k, v in data.items() if k not in present}
    return Case.from_dict(kept), present


def parse_cases(text: str, name: str = "<cases>") -> list[ClinicalCase]:
    """Read a case set from JSONL text; a bad line raises ``CaseBookError`` naming it."""
    cases: list[ClinicalCase] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{name}, line {number}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise CaseBookError(
                f"{where}: not valid JSON ({error.msg} at column {error.colno}).", number
            ) from None
        except RecursionError:
            raise CaseBookError(f"{where}: JSON nested too deeply.", number) from None
        except ValueError as error:  # e.g. an integer with too many digits
            raise CaseBookError(
                f"{where}: not valid JSON ({_shown(str(error))}).", number
            ) from None
        if not isinstance(record, dict):
            raise CaseBookError(
                f"{where}: expected a JSON object, got {type(record).__name__}.", number
            )
        missing = [k for k in REQUIRED_KEYS if k not in record]
        if missing:
            raise CaseBookError(f"{where}: missing field(s) {', '.join(missing)}.", number)
        unknown = sorted(str(k) for k in record if k not in REQUIRED_KEYS)
        if unknown:
            raise CaseBookError(
                f"{where}: unknown field(s) {', '.join(_shown(k) for k in unknown)}; "
                f"allowed: {', '.join(REQUIRED_KEYS)}.",
                number,
            )
        case_id = _text(record, "id", where, number)
        where = f"{name}, line {number} ({_shown(case_id)[1:-1]})"
        if case_id in seen:
            raise CaseBookError(f"{where}: id already used on line {seen[case_id]}.", number)
        seen[case_id] = number
        group = record["group"]
        if group not in GROUPS:
            raise CaseBookError(
                f"{where}: 'group' must be one of {', '.join(GROUPS)}, got {_shown(group)}.",
                number,
            )
        least = _category(record["least_urgent"], "least_urgent", where, number)
        expected = _category(record["expected"], "expected", where, number)
        if least.is_more_urgent_than(expected):
            raise CaseBookError(
                f"{where}: 'least_urgent' ({least.value}) is more urgent than "
                f"'expected' ({expected.value}).",
                number,
            )
        data = record["case"]
        if not isinstance(data, dict):
            raise CaseBookError(f"{where}: 'case' must be a JSON object.", number)
        try:
            build_case(data)
        except ProtocolError as error:
            raise CaseBookError(f"{where}: {error.message}", number) from None
        cases.append(
            ClinicalCase(
                id=case_id,
                group=group,
                title=_text(record, "title", where, number),
                sign=_text(record, "sign", where, number),
                source=_text(record, "source", where, number),
                case=data,
                least_urgent=least,
                expected=expected,
                line=number,
            )
        )
    if not cases:
        raise CaseBookError(f"{name}: no cases in the file.")
    return cases


def load_cases(path: Path | str) -> list[ClinicalCase]:
    """Read a case set from a ``.jsonl`` file (see ``parse_cases``)."""
    target = Path(path)
    if target.is_dir():
        raise CaseBookError(f"{target}: is a directory, not a case file.")
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseBookError(f"{target}: no such file.") from None
    except UnicodeDecodeError as error:
        raise CaseBookError(f"{target}: not UTF-8 text ({error.reason}).") from None
    except OSError as error:
        raise CaseBookError(f"{target}: cannot be read ({error.strerror}).") from None
    return parse_cases(text, target.name)


def _incomplete(decision: Decision) -> bool | None:
    value = getattr(decision, "incomplete", None)
    return value if isinstance(value, bool) else None


def run_case(clinical: ClinicalCase) -> CaseOutcome:
    """Run one case through the engine; a refusal becomes the outcome's ``error``."""
    try:
        case, ignored = build_case(clinical.case)
        decision = case.assess()
    except ProtocolError as error:
        return CaseOutcome(clinical, None, error=error.message)
    reasons = tuple(f"{r.rule_id}={r.category.value}" for r in decision.reasons)
    return CaseOutcome(
        clinical,
        decision.category,
        ignored_keys=ignored,
        incomplete=_incomplete(decision),
        reasons=reasons,
    )


def evaluate_cases(
    cases: Sequence[ClinicalCase], tick: Callable[[], None] | None = None
) -> CaseBookReport:
    """Every case's outcome, the totals and the totals per group (in ``GROUPS`` order)."""
    outcomes: list[CaseOutcome] = []
    for clinical in cases:
        outcomes.append(run_case(clinical))
        if tick is not None:
            tick()
    by_group = {
        g: Totals.of(o for o in outcomes if o.case.group == g)
        for g in GROUPS
        if any(o.case.group == g for o in outcomes)
    }
    return CaseBookReport(tuple(outcomes), Totals.of(outcomes), by_group)
