"""The structured cases in cases.toml: each decides as the source says, and together they cover
every rule, every score cell and both sides of every numeric threshold of every protocol.

Each protocol file is tested alone (``net=False``: no consulted protocol, no floor), as its
source says; the safety net and the floor have their own tests (test_net.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomllib

from edgemed.protocol import Category, Decision, available_protocols, load_protocol
from edgemed.protocol.case import Case
from edgemed.protocol.definition import NUMERIC_FIELDS, Threshold, measurement
from edgemed.protocol.engine import BASELINE_RULE, assess

CASES_FILE = Path(__file__).with_name("cases.toml")
GROUPS: dict[str, tuple[str, dict[str, Any]]] = {
    "sats": ("sats-adult", {"age_years": 30, "sex": "male"}),
    "iitt": ("iitt-adult", {"age_years": 30, "sex": "male"}),
    "etat": ("etat-child", {"age_months": 48}),
}
# How close to a cut-off a case must be to count as "just this side of it".
NEAR = {"temp_c": 0.15, "glucose_mmol": 0.15, "cap_refill_s": 0.6}


@dataclass(frozen=True)
class StructuredCase:
    label: str
    rule: str
    fires: bool
    case: Case
    expect: Category
    score: int | None


def _load_cases() -> list[StructuredCase]:
    data = tomllib.loads(CASES_FILE.read_text())
    cases = []
    for group, entries in data.items():
        protocol_id, default_patient = GROUPS[group]
        for i, entry in enumerate(entries):
            case = Case.from_dict(
                {
                    "patient": entry.get("patient", default_patient),
                    "vitals": entry.get("vitals", {}),
                    "findings": entry.get("findings", []),
                    "protocol": protocol_id,
                }
            )
            fires = entry.get("fires", True)
            label = f"{group}-{i:03d}-{entry['rule']}{'' if fires else '-not'}"
            cases.append(
                StructuredCase(
                    label,
                    entry["rule"],
                    fires,
                    case,
                    Category(entry["expect"]),
                    entry.get("score"),
                )
            )
    return cases


CASES = _load_cases()


def _alone(case: Case) -> Decision:
    return assess(case.patient, case.vitals, case.findings, case.protocol, net=False)


def _score_total(decision: Decision) -> int | None:
    for reason in decision.reasons:
        if "tews" in reason.inputs:
            total = reason.inputs["tews"]
            assert isinstance(total, int)
            return total
    return None


def test_there_are_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_case_decides_as_the_source_says(case: StructuredCase) -> None:
    decision = _alone(case.case)
    fired = {r.rule_id for r in decision.reasons}

    assert decision.category is case.expect, decision.to_dict()
    if case.fires:
        assert case.rule in fired, decision.to_dict()
    else:
        assert case.rule not in fired, decision.to_dict()
    if case.score is not None:
        assert _score_total(decision) == case.score, decision.to_dict()
    assert (
        decision.target_minutes
        == load_protocol(decision.protocol_id).level(decision.category).target_minutes
    )


def test_every_rule_of_every_protocol_is_exercised() -> None:
    fired: dict[str, set[str]] = {}
    for case in CASES:
        if case.fires:
            decision = _alone(case.case)
            fired.setdefault(decision.protocol_id, set()).update(
                r.rule_id for r in decision.reasons
            )
    for protocol_id in available_protocols():
        protocol = load_protocol(protocol_id)
        expected = {r.id for r in protocol.rules} | {BASELINE_RULE}
        if protocol.score is not None:
            expected.add(protocol.score.id)
        missing = expected - fired.get(protocol_id, set())
        assert not missing, f"{protocol_id}: no case fires {sorted(missing)}"


def test_every_score_cell_is_hit() -> None:
    protocol = load_protocol("sats-adult")
    assert protocol.score is not None
    hit: set[tuple[str, str]] = set()
    for case in CASES:
        if case.case.protocol != protocol.id:
            continue
        for parameter in protocol.score.parameters:
            value = measurement(parameter.field, case.case.patient, case.case.vitals)
            if value is not None:
                hit.add((parameter.field, parameter.cell_for(value).threshold.cell))
    cells = {(p.field, c.threshold.cell) for p in protocol.score.parameters for c in p.cells}
    assert cells - hit == set()


def _edges(threshold: Threshold) -> list[float]:
    return [b for b in (threshold.gt, threshold.ge, threshold.lt, threshold.le) if b is not None]


def test_both_sides_of_every_numeric_threshold_have_a_case() -> None:
    """For each cut-off, some case sits just inside it and some case just outside it."""
    problems = []
    for protocol_id in available_protocols():
        protocol = load_protocol(protocol_id)
        thresholds = [r.vital for r in protocol.rules if r.vital is not None]
        if protocol.score is not None:
            thresholds += [c.threshold for p in protocol.score.parameters for c in p.cells]
        values: dict[str, list[float]] = {}
        for case in CASES:
            if case.case.protocol == protocol_id:
                for field in NUMERIC_FIELDS:
                    value = measurement(field, case.case.patient, case.case.vitals)
                    if isinstance(value, float):
                        values.setdefault(field, []).append(value)
        for threshold in thresholds:
            if threshold.field not in NUMERIC_FIELDS:
                continue
            near = NEAR.get(threshold.field, 1.0)
            for edge in _edges(threshold):
                close = [v for v in values.get(threshold.field, []) if abs(v - edge) <= near]
                inside = any(threshold.matches(v) for v in close)
                outside = any(not threshold.matches(v) for v in close)
                if not (inside and outside):
                    problems.append(f"{protocol_id} {threshold.describe()} at {edge:g}")
    assert not problems, problems


def test_both_sides_of_every_age_cut_off_have_a_case() -> None:
    """Age bands (tiny baby, ESI danger zones, IITT over 50) are tested across their edges."""
    problems = []
    for protocol_id in available_protocols():
        protocol = load_protocol(protocol_id)
        ages = [
            age
            for case in CASES
            if case.case.protocol == protocol_id
            and (age := case.case.patient.age_in_months) is not None
        ]
        for rule in protocol.rules:
            for edge in (rule.when.age_months_min, rule.when.age_months_below):
                if edge is None:
                    continue
                below = any(edge - 12 <= a < edge for a in ages)
                at_or_above = any(edge <= a <= edge + 12 for a in ages)
                if not (below and at_or_above):
                    problems.append(f"{protocol_id} {rule.id} at {edge:g} months")
    assert not problems, problems
