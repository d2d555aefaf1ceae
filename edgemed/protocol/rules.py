"""How a protocol's rules meet the facts of one patient.

Two paths share one rule test (``fires``): ``fired`` builds every reason for the decision, and
``reach`` only finds the category, most urgent rules first, for the many "what if" questions the
warnings ask. Both read a per-protocol ``Plan`` built once per file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edgemed.protocol.definition import (
    FIELD_NAMES,
    Conditions,
    Protocol,
    Rule,
    Score,
    measurement,
)
from edgemed.protocol.domain import Category, Patient, Reason, ReasonKind, Vitals, most_urgent


@dataclass(frozen=True)
class Facts:
    """Everything a rule looks at, plus which unknowns to treat as their worst value."""

    patient: Patient
    vitals: Vitals
    confirmed: frozenset[str]
    worst_fields: frozenset[str] = frozenset()
    assume_conditions: bool = False


@dataclass(frozen=True)
class ScoreResult:
    total: int
    items: dict[str, object]
    missing: tuple[str, ...]


def category_of(protocol: Protocol, reasons: Iterable[Reason]) -> Category:
    return protocol.map_category(most_urgent(r.category for r in reasons))


def fired(protocol: Protocol, facts: Facts) -> list[Reason]:
    """Every rule that fires, the score's reason when its band is above the lowest level,
    and the up-triage rules applied on top of those."""
    plan = plan_for(protocol)
    reasons = [
        reason
        for finding_id in facts.confirmed
        if finding_id in plan.signs
        for reason in apply_rule(plan.signs[finding_id], facts)
    ]
    reasons += [reason for _, rule in plan.ranked for reason in apply_rule(rule, facts)]
    reasons.sort(key=lambda r: plan.order[r.rule_id])
    if protocol.score is not None:
        shown = score_reason(protocol, protocol.score, facts, always=False)
        if shown is not None:
            reasons.append(shown)
    if plan.up_triage:
        raised = protocol.one_level_up(category_of(protocol, reasons))
        for rule in plan.up_triage:
            reasons += apply_rule(rule, facts, raised)
    return reasons


def score_reason(protocol: Protocol, score: Score, facts: Facts, always: bool) -> Reason | None:
    """The score's reason: when its band is above the lowest level, or ``always`` when anything
    of it was measured."""
    result = score_items(score, facts)
    band = score.band_for(result.total)
    above_lowest = band.category is not protocol.lowest().category
    if not above_lowest and not (always and result.items):
        return None
    upper = "+" if band.max_total is None else f"-{band.max_total}"
    return Reason(
        rule_id=score.id,
        category=protocol.map_category(band.category),
        text=f"{score.name}: {result.total} ({band.min_total}{upper})",
        inputs={score.id: result.total, **result.items},
        source=band.source,
        verified=band.verified and score.verified,
        kind=ReasonKind.SCORE,
        words=score.name,
        score=score.id,
        total=result.total,
        band=(band.min_total, band.max_total),
    )


def fires(rule: Rule, facts: Facts) -> bool:
    """Whether ``rule`` fires for these facts (the fast path the warnings use)."""
    applies = rule.when.applies(facts.patient)
    if applies is False or (applies is None and not facts.assume_conditions):
        return False
    confirmed = facts.confirmed
    if rule.findings:
        if rule.min_findings == 1:
            if confirmed.isdisjoint(rule.findings):
                return False
        elif len(confirmed.intersection(rule.findings)) < rule.min_findings:
            return False
    if rule.also_findings and not all(f in confirmed for f in rule.also_findings):
        return False
    if rule.vital is not None:
        value = measurement(rule.vital.field, facts.patient, facts.vitals)
        if value is None:
            return rule.vital.field in facts.worst_fields
        return rule.vital.matches(value)
    return True


def apply_rule(rule: Rule, facts: Facts, up_to: Category | None = None) -> list[Reason]:
    """The reason ``rule`` gives for these facts; empty when it does not fire."""
    if not fires(rule, facts):
        return []
    inputs: dict[str, object] = {}
    if rule.findings or rule.also_findings:
        present = [f for f in rule.findings if f in facts.confirmed]
        inputs["findings"] = [*present, *rule.also_findings]
    text = rule.text
    field, shown_value = "", None
    if rule.vital is not None:
        value = measurement(rule.vital.field, facts.patient, facts.vitals)
        if value is not None:
            field, shown_value = rule.vital.field, json_number(value)
            inputs[field] = shown_value
            text = f"{text} ({FIELD_NAMES[field]} {show(value)})"
    if rule.when.pregnant is not None:
        inputs["pregnant"] = facts.patient.pregnant
    if rule.when.age_months_min is not None or rule.when.age_months_below is not None:
        age = facts.patient.age_in_months
        inputs["age_months"] = None if age is None else json_number(age)
    category = up_to if rule.up_triage else rule.category
    assert category is not None
    reason = Reason(
        rule.id,
        category,
        text,
        inputs,
        rule.source,
        rule.verified,
        kind=ReasonKind.RULE,
        words=rule.text,
        field=field,
        value=shown_value,
    )
    return [reason]


def reach(protocol: Protocol, facts: Facts) -> Category:
    """The category these facts reach, without building reasons: the same rules as ``fired``,
    tried most urgent first so the search stops as soon as nothing can beat what was found."""
    plan = plan_for(protocol)
    best = plan.lowest_urgency
    if protocol.score is not None:
        band = protocol.score.band_for(score_total(protocol.score, facts))
        best = protocol.map_category(band.category).urgency
    for finding_id in facts.confirmed:
        urgency = plan.sign_urgency.get(finding_id, best)
        if urgency < best:
            best = urgency
    for urgency, rule in plan.ranked:
        if urgency >= best:
            break
        if fires(rule, facts):
            best = urgency
    category = protocol.map_category(_BY_URGENCY[best])
    if any(fires(rule, facts) for rule in plan.up_triage):
        category = protocol.one_level_up(category)
    return category


_BY_URGENCY = {c.urgency: c for c in Category}


@dataclass(frozen=True)
class Plan:
    """A protocol's rules arranged for speed; built once per protocol file."""

    signs: dict[str, Rule]  # finding id -> its own rule (a sign that decides alone)
    sign_urgency: dict[str, int]
    ranked: tuple[tuple[int, Rule], ...]  # every other rule with a level, most urgent first
    up_triage: tuple[Rule, ...]
    fields: tuple[str, ...]  # every measurement the protocol looks at
    order: dict[str, int]  # rule id -> position in the file, for a stable reason order
    lowest_urgency: int


# Keyed by the protocol object: a protocol consulted by the safety net is a different object
# (its rules mapped onto the primary's levels) with the same id and sha256 as the file. The
# object is kept beside its plan so its id() is never reused.
_PLANS: dict[int, tuple[Protocol, Plan]] = {}


def _is_sign(rule: Rule) -> bool:
    return (
        len(rule.findings) == 1
        and rule.min_findings == 1
        and not rule.also_findings
        and rule.vital is None
        and rule.when == Conditions()
        and not rule.up_triage
    )


def plan_for(protocol: Protocol) -> Plan:
    cached = _PLANS.get(id(protocol))
    plan = None if cached is None or cached[0] is not protocol else cached[1]
    if plan is None:
        signs = {r.findings[0]: r for r in protocol.rules if _is_sign(r)}
        ranked = sorted(
            (
                (r.category.urgency, r)
                for r in protocol.rules
                if r.category is not None and not r.up_triage and not _is_sign(r)
            ),
            key=lambda pair: pair[0],
        )
        fields: list[str] = []
        if protocol.score is not None:
            fields += [p.field for p in protocol.score.parameters]
        for rule in protocol.rules:
            if rule.vital is not None and rule.vital.field not in fields:
                fields.append(rule.vital.field)
        plan = Plan(
            signs=signs,
            sign_urgency={
                fid: r.category.urgency for fid, r in signs.items() if r.category is not None
            },
            ranked=tuple(ranked),
            up_triage=tuple(r for r in protocol.rules if r.up_triage),
            fields=tuple(fields),
            order={r.id: i for i, r in enumerate(protocol.rules)},
            lowest_urgency=protocol.lowest().category.urgency,
        )
        _PLANS[id(protocol)] = (protocol, plan)
    return plan


def score_total(score: Score, facts: Facts) -> int:
    total = 0
    for parameter in score.parameters:
        value = measurement(parameter.field, facts.patient, facts.vitals)
        if value is None:
            if parameter.field in facts.worst_fields:
                total += parameter.max_points
        else:
            total += parameter.cell_for(value).points
    return total


def score_items(score: Score, facts: Facts) -> ScoreResult:
    total = 0
    items: dict[str, object] = {}
    missing = []
    for parameter in score.parameters:
        value = measurement(parameter.field, facts.patient, facts.vitals)
        if value is None:
            if parameter.field in facts.worst_fields:
                total += parameter.max_points
            else:
                missing.append(parameter.field)
            continue
        cell = parameter.cell_for(value)
        total += cell.points
        items[parameter.field] = {
            "value": json_number(value),
            "cell": cell.threshold.cell,
            "points": cell.points,
        }
    return ScoreResult(total, items, tuple(missing))


def with_facts(
    facts: Facts,
    *,
    confirmed: frozenset[str] | None = None,
    worst_fields: Iterable[str] = (),
    assume_conditions: bool = False,
) -> Facts:
    return Facts(
        facts.patient,
        facts.vitals,
        facts.confirmed if confirmed is None else confirmed,
        frozenset(worst_fields),
        assume_conditions,
    )


def json_number(value: float | str) -> float | int | str:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def show(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else value
