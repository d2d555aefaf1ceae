"""What a protocol data file says, as typed values: levels, findings, rules, the score table.

Every rule, threshold cell and level carries the source it was encoded from and whether that
cell has been verified against the primary document; ``Protocol.unverified_cells`` lists the
ones a clinic's medical lead still has to sign off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from edgemed.protocol.domain import Category, Patient, Vitals

# Measurements a rule or score cell can look at: the vitals, plus the patient's trauma flag
# (a TEWS item in SATS).
NUMERIC_FIELDS = ("rr", "hr", "sbp", "dbp", "temp_c", "spo2", "cap_refill_s", "glucose_mmol")
CATEGORICAL_FIELDS = ("avpu", "mobility", "trauma")
FIELD_NAMES = {
    "rr": "RR",
    "hr": "HR",
    "sbp": "SBP",
    "dbp": "DBP",
    "temp_c": "temperature",
    "spo2": "SpO2",
    "cap_refill_s": "capillary refill",
    "glucose_mmol": "glucose",
    "avpu": "AVPU",
    "mobility": "mobility",
    "trauma": "trauma",
}


def measurement(name: str, patient: Patient, vitals: Vitals) -> float | str | None:
    """The value a threshold compares, or ``None`` when it was not measured."""
    if name == "trauma":
        return None if patient.trauma is None else ("yes" if patient.trauma else "no")
    value = vitals.get(name)
    if value is None:
        return None
    if name in CATEGORICAL_FIELDS:
        return str(getattr(value, "value", value))
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Source:
    id: str
    citation: str
    url: str = ""


@dataclass(frozen=True)
class Level:
    """One of the protocol's own levels and the edgemed category it maps onto."""

    category: Category
    word: str
    target_minutes: int
    source: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class Threshold:
    """One cell on one measurement: a numeric interval or a set of categorical values."""

    field: str
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    any_of: tuple[str, ...] = ()
    cell: str = ""

    def matches(self, value: float | str) -> bool:
        if self.any_of:
            return value in self.any_of
        if isinstance(value, str):
            return False
        return (
            (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
        )

    def describe(self) -> str:
        """The cell as a reader would write it, e.g. ``HR > 150``."""
        if self.cell:
            return f"{FIELD_NAMES.get(self.field, self.field)} {self.cell}"
        if self.any_of:
            return f"{FIELD_NAMES.get(self.field, self.field)} in {'/'.join(self.any_of)}"
        parts = []
        for op, bound in ((">", self.gt), (">=", self.ge), ("<", self.lt), ("<=", self.le)):
            if bound is not None:
                parts.append(f"{op} {bound:g}")
        return f"{FIELD_NAMES.get(self.field, self.field)} {' and '.join(parts)}"


@dataclass(frozen=True)
class Conditions:
    """Who a rule applies to. Unknown patient facts leave the answer unknown, never "no"."""

    pregnant: bool | None = None
    age_months_min: float | None = None
    age_months_below: float | None = None

    def applies(self, patient: Patient) -> bool | None:
        """True / False, or None when the patient's record cannot tell."""
        unknown = False
        if self.pregnant is not None:
            if patient.pregnant is None:
                # A man cannot be pregnant; anyone else with no answer is "unknown".
                if patient.sex == "male":
                    return False
                unknown = True
            elif patient.pregnant != self.pregnant:
                return False
        if self.age_months_min is not None or self.age_months_below is not None:
            age = patient.age_in_months
            if age is None:
                unknown = True
            elif (self.age_months_min is not None and age < self.age_months_min) or (
                self.age_months_below is not None and age >= self.age_months_below
            ):
                return False
        return None if unknown else True

    def describe(self) -> str:
        parts = []
        if self.pregnant:
            parts.append("pregnant")
        if self.age_months_min is not None:
            parts.append(f"age >= {_months_text(self.age_months_min)}")
        if self.age_months_below is not None:
            parts.append(f"age < {_months_text(self.age_months_below)}")
        return ", ".join(parts)


def _months_text(months: float) -> str:
    if months >= 24 and months % 12 == 0:
        return f"{months / 12:g} years"
    return f"{months:g} months"


@dataclass(frozen=True)
class Rule:
    """A rule that raises the category: findings and/or a measurement, for some patients.

    ``category`` is the level it reaches; when ``up_triage`` is set it instead raises the
    category one level above what the other rules reached (IITT's high-risk vital signs).
    """

    id: str
    section: str
    text: str
    category: Category | None
    source: str
    verified: bool
    findings: tuple[str, ...] = ()
    min_findings: int = 1
    also_findings: tuple[str, ...] = ()
    vital: Threshold | None = None
    when: Conditions = Conditions()
    up_triage: bool = False
    note: str = ""


@dataclass(frozen=True)
class FindingDefinition:
    """A sign in the protocol's vocabulary, in plain English (these become gettext msgids)."""

    id: str
    label: str
    description: str
    category: Category
    rule_id: str
    source: str
    verified: bool
    question: str
    # True when the sign decides by itself (it has its own rule); False when it counts only
    # with other signs or for some patients (``category`` is then the most it can reach).
    alone: bool = True


@dataclass(frozen=True)
class ScoreCell:
    threshold: Threshold
    points: int
    source: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class ScoreParameter:
    field: str
    label: str
    cells: tuple[ScoreCell, ...]

    @property
    def max_points(self) -> int:
        return max(c.points for c in self.cells)

    def cell_for(self, value: float | str) -> ScoreCell:
        for cell in self.cells:
            if cell.threshold.matches(value):
                return cell
        # The loader proves the cells cover every possible value; this is a broken invariant.
        raise AssertionError(f"no score cell for {self.field}={value!r}")


@dataclass(frozen=True)
class ScoreBand:
    min_total: int
    max_total: int | None
    category: Category
    source: str
    verified: bool


@dataclass(frozen=True)
class Score:
    id: str
    name: str
    parameters: tuple[ScoreParameter, ...]
    bands: tuple[ScoreBand, ...]
    source: str
    verified: bool
    note: str = ""

    def band_for(self, total: int) -> ScoreBand:
        for band in self.bands:
            if total >= band.min_total and (band.max_total is None or total <= band.max_total):
                return band
        raise AssertionError(f"no band for {self.id} total {total}")


@dataclass(frozen=True)
class UnverifiedCell:
    """One piece of a protocol file not yet checked against its primary source."""

    where: str
    text: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class Protocol:
    id: str
    version: str
    title: str
    sha256: str
    path: Path
    sources: Mapping[str, Source]
    levels: tuple[Level, ...]  # most urgent first
    findings: Mapping[str, FindingDefinition]
    rules: tuple[Rule, ...]
    score: Score | None
    notes: str = ""
    applies_to: str = ""
    ages: Conditions = Conditions()  # the ages the protocol is meant for
    # Set on a protocol consulted by the safety net (edgemed.protocol.net): its up-triage never
    # goes above this level of the primary protocol.
    up_triage_cap: Category | None = None

    def level(self, category: Category) -> Level:
        for level in self.levels:
            if level.category is category:
                return level
        raise KeyError(category)

    def lowest(self) -> Level:
        return self.levels[-1]

    def one_level_up(self, category: Category) -> Category:
        """The next more urgent level this protocol has (IITT has no orange), never above
        ``up_triage_cap`` unless ``category`` already is."""
        more_urgent = [lv.category for lv in self.levels if lv.category.urgency < category.urgency]
        raised = more_urgent[-1] if more_urgent else category
        cap = self.up_triage_cap
        if cap is not None and raised.is_more_urgent_than(cap):
            return category if category.is_more_urgent_than(cap) else cap
        return raised

    def map_category(self, category: Category) -> Category:
        """``category`` if this protocol has it, else the next more urgent one it has."""
        candidates = [lv.category for lv in self.levels if lv.category.urgency <= category.urgency]
        return candidates[-1]

    def unverified_cells(self) -> list[UnverifiedCell]:
        cells: list[UnverifiedCell] = []
        for level in self.levels:
            if not level.verified:
                cells.append(
                    UnverifiedCell(
                        f"level {level.category.value}",
                        f"{level.word}: target {level.target_minutes} min",
                        level.source,
                        level.note,
                    )
                )
        for rule in self.rules:
            if not rule.verified:
                cells.append(UnverifiedCell(f"rule {rule.id}", rule.text, rule.source, rule.note))
        for finding in self.findings.values():
            # A sign with its own rule is listed above; one used only inside rules is listed here.
            if not finding.verified and finding.rule_id != finding.id:
                cells.append(UnverifiedCell(f"finding {finding.id}", finding.label, finding.source))
        if self.score is not None:
            score = self.score
            for parameter in score.parameters:
                for cell in parameter.cells:
                    if not cell.verified:
                        cells.append(
                            UnverifiedCell(
                                f"{score.id} {parameter.field}",
                                f"{cell.threshold.describe()} -> {cell.points} points",
                                cell.source,
                                cell.note,
                            )
                        )
            for band in score.bands:
                if not band.verified:
                    upper = "" if band.max_total is None else f"-{band.max_total}"
                    cells.append(
                        UnverifiedCell(
                            f"{score.id} band",
                            f"{score.id} {band.min_total}{upper or '+'} -> {band.category.value}",
                            band.source,
                        )
                    )
        return cells
