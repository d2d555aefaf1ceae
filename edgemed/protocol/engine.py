"""The deterministic triage engine: emergency signs, then the score, then discriminators.

The category is the most urgent level any rule reached; every rule that fired becomes a Reason
naming its inputs and source. Only what the nurse confirmed as present counts. What is missing
or unconfirmed never lowers the category: it becomes a warning saying how far it could raise it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edgemed.protocol.definition import (
    FIELD_NAMES,
    Conditions,
    Protocol,
    Rule,
    Score,
    measurement,
)
from edgemed.protocol.domain import (
    Category,
    Decision,
    Finding,
    Patient,
    Presence,
    Reason,
    Reporter,
    Vitals,
    most_urgent,
)
from edgemed.protocol.library import finding_definition, load_protocol
from edgemed.protocol.routing import route
from edgemed.protocol.vital_limits import check_patient, check_vitals

BASELINE_RULE = "baseline"


@dataclass(frozen=True)
class _Facts:
    """Everything a rule looks at, plus which unknowns to treat as their worst value."""

    patient: Patient
    vitals: Vitals
    confirmed: frozenset[str]
    worst_fields: frozenset[str] = frozenset()
    assume_conditions: bool = False


@dataclass(frozen=True)
class _ScoreResult:
    total: int
    items: dict[str, object]
    missing: tuple[str, ...]


def assess(
    patient: Patient,
    vitals: Vitals,
    findings: Sequence[Finding],
    protocol_id: str | None = None,
) -> Decision:
    """Triage one patient. Raises ``ProtocolError`` subclasses for input a nurse must correct."""
    check_patient(patient)
    warnings = list(check_vitals(vitals))
    routing_note: str | None = None
    if protocol_id is None:
        protocol_id, routing_note = route(patient)
    protocol = load_protocol(protocol_id)
    if protocol.ages.applies(patient) is False:
        routed_id, _ = route(patient)
        routing_note = (
            f"{protocol.id} is meant for: {protocol.applies_to} It was chosen for this patient; "
            f"by age edgemed would use {routed_id}."
        )
    for finding in findings:
        finding_definition(protocol, finding.id)  # raises UnknownFinding
    confirmed = frozenset(f.id for f in findings if f.counts)
    facts = _Facts(patient, vitals, confirmed)

    reasons = _fired(protocol, facts)
    category = _category(protocol, reasons)
    if category is protocol.lowest().category:
        reasons.append(_baseline(protocol, facts, category))
    elif protocol.score is not None and all(r.rule_id != protocol.score.id for r in reasons):
        # The score was taken even when a discriminator decided: show it.
        score_reason = _score_reason(protocol, protocol.score, facts, always=True)
        if score_reason is not None:
            reasons.append(score_reason)
    warnings += _finding_warnings(protocol, facts, findings, category)
    warnings += _missing_warnings(protocol, facts, category)

    level = protocol.level(category)
    return Decision(
        category=category,
        target_minutes=level.target_minutes,
        reasons=tuple(sorted(reasons, key=lambda r: r.category.urgency)),
        warnings=tuple(warnings),
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        protocol_sha256=protocol.sha256,
        routing_note=routing_note,
        protocol_level=level.word,
    )


def _category(protocol: Protocol, reasons: Iterable[Reason]) -> Category:
    return protocol.map_category(most_urgent(r.category for r in reasons))


def _fired(protocol: Protocol, facts: _Facts) -> list[Reason]:
    """Every rule that fires, the score's reason when its band is above the lowest level,
    and the up-triage rules applied on top of those."""
    plan = _plan(protocol)
    reasons = [
        reason
        for finding_id in facts.confirmed
        if finding_id in plan.signs
        for reason in _apply(plan.signs[finding_id], facts)
    ]
    reasons += [reason for _, rule in plan.ranked for reason in _apply(rule, facts)]
    reasons.sort(key=lambda r: plan.order[r.rule_id])
    if protocol.score is not None:
        score_reason = _score_reason(protocol, protocol.score, facts, always=False)
        if score_reason is not None:
            reasons.append(score_reason)
    if plan.up_triage:
        raised = protocol.one_level_up(_category(protocol, reasons))
        for rule in plan.up_triage:
            reasons += _apply(rule, facts, raised)
    return reasons


def _score_reason(protocol: Protocol, score: Score, facts: _Facts, always: bool) -> Reason | None:
    """The score's reason: when its band is above the lowest level, or ``always`` when anything
    of it was measured."""
    result = _score(score, facts)
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
    )


def _fires(rule: Rule, facts: _Facts) -> bool:
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


def _apply(rule: Rule, facts: _Facts, up_to: Category | None = None) -> list[Reason]:
    """The reason ``rule`` gives for these facts; empty when it does not fire."""
    if not _fires(rule, facts):
        return []
    inputs: dict[str, object] = {}
    if rule.findings or rule.also_findings:
        present = [f for f in rule.findings if f in facts.confirmed]
        inputs["findings"] = [*present, *rule.also_findings]
    text = rule.text
    if rule.vital is not None:
        value = measurement(rule.vital.field, facts.patient, facts.vitals)
        if value is not None:
            inputs[rule.vital.field] = _json_number(value)
            text = f"{text} ({FIELD_NAMES[rule.vital.field]} {_show(value)})"
    if rule.when.pregnant is not None:
        inputs["pregnant"] = facts.patient.pregnant
    if rule.when.age_months_min is not None or rule.when.age_months_below is not None:
        age = facts.patient.age_in_months
        inputs["age_months"] = None if age is None else _json_number(age)
    category = up_to if rule.up_triage else rule.category
    assert category is not None
    return [Reason(rule.id, category, text, inputs, rule.source, rule.verified)]


def _reach(protocol: Protocol, facts: _Facts) -> Category:
    """The category these facts reach, without building reasons: the same rules as ``_fired``,
    tried most urgent first so the search stops as soon as nothing can beat what was found."""
    plan = _plan(protocol)
    best = plan.lowest_urgency
    if protocol.score is not None:
        band = protocol.score.band_for(_score_total(protocol.score, facts))
        best = protocol.map_category(band.category).urgency
    for finding_id in facts.confirmed:
        urgency = plan.sign_urgency.get(finding_id, best)
        if urgency < best:
            best = urgency
    for urgency, rule in plan.ranked:
        if urgency >= best:
            break
        if _fires(rule, facts):
            best = urgency
    category = protocol.map_category(_BY_URGENCY[best])
    if any(_fires(rule, facts) for rule in plan.up_triage):
        category = protocol.one_level_up(category)
    return category


_BY_URGENCY = {c.urgency: c for c in Category}


@dataclass(frozen=True)
class _Plan:
    """A protocol's rules arranged for speed; built once per protocol file."""

    signs: dict[str, Rule]  # finding id -> its own rule (a sign that decides alone)
    sign_urgency: dict[str, int]
    ranked: tuple[tuple[int, Rule], ...]  # every other rule with a level, most urgent first
    up_triage: tuple[Rule, ...]
    fields: tuple[str, ...]  # every measurement the protocol looks at
    order: dict[str, int]  # rule id -> position in the file, for a stable reason order
    lowest_urgency: int


_PLANS: dict[tuple[str, str], _Plan] = {}


def _is_sign(rule: Rule) -> bool:
    return (
        len(rule.findings) == 1
        and rule.min_findings == 1
        and not rule.also_findings
        and rule.vital is None
        and rule.when == Conditions()
        and not rule.up_triage
    )


def _plan(protocol: Protocol) -> _Plan:
    key = (protocol.id, protocol.sha256)
    plan = _PLANS.get(key)
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
        plan = _Plan(
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
        _PLANS[key] = plan
    return plan


def _score_total(score: Score, facts: _Facts) -> int:
    total = 0
    for parameter in score.parameters:
        value = measurement(parameter.field, facts.patient, facts.vitals)
        if value is None:
            if parameter.field in facts.worst_fields:
                total += parameter.max_points
        else:
            total += parameter.cell_for(value).points
    return total


def _score(score: Score, facts: _Facts) -> _ScoreResult:
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
            "value": _json_number(value),
            "cell": cell.threshold.cell,
            "points": cell.points,
        }
    return _ScoreResult(total, items, tuple(missing))


def _baseline(protocol: Protocol, facts: _Facts, category: Category) -> Reason:
    """The reason for the lowest level: nothing more urgent fired, said in the protocol's terms."""
    parts = ["no emergency sign"]
    inputs: dict[str, object] = {"findings": sorted(facts.confirmed)}
    if protocol.score is not None:
        result = _score(protocol.score, facts)
        band = protocol.score.band_for(result.total)
        upper = "+" if band.max_total is None else f"-{band.max_total}"
        parts.append(
            f"{protocol.score.id.upper()} {result.total} ({band.min_total}{upper})"
            if result.items
            else f"{protocol.score.id.upper()} not measured"
        )
        inputs[protocol.score.id] = result.total
        inputs.update(result.items)
    parts.append("no discriminator")
    level = protocol.level(category)
    return Reason(
        rule_id=BASELINE_RULE,
        category=category,
        text=", ".join(parts),
        inputs=inputs,
        source=level.source,
        verified=level.verified,
    )


def _finding_warnings(
    protocol: Protocol, facts: _Facts, findings: Sequence[Finding], category: Category
) -> list[str]:
    """Unconfirmed proposals and signs marked unknown that would raise the category."""
    warnings = []
    for finding in findings:
        if finding.id in facts.confirmed or finding.presence is Presence.ABSENT:
            continue
        raised = _reach(protocol, _with(facts, confirmed=facts.confirmed | {finding.id}))
        if not raised.is_more_urgent_than(category):
            continue
        label = protocol.findings[finding.id].label
        if finding.reporter is Reporter.PROPOSAL and finding.presence is Presence.PRESENT:
            warnings.append(
                f"Unconfirmed proposal '{finding.id}' ({label}) would raise the category to "
                f"{raised.name}: confirm or reject."
            )
        else:
            warnings.append(
                f"'{finding.id}' ({label}) is not known: if present it would raise the category "
                f"to {raised.name}."
            )
    return warnings


def _missing_warnings(protocol: Protocol, facts: _Facts, category: Category) -> list[str]:
    """Each unmeasured item (and unknown patient fact) that could raise the category."""
    warnings = []
    fields = _plan(protocol).fields
    missing = [f for f in fields if measurement(f, facts.patient, facts.vitals) is None]
    for field in missing:
        raised = _reach(protocol, _with(facts, worst_fields={field}))
        if raised.is_more_urgent_than(category):
            what = "not recorded" if field == "trauma" else "not measured"
            warnings.append(
                f"{FIELD_NAMES[field]} {what}: could raise the category to {raised.name}."
            )
    if protocol.score is not None:
        score = protocol.score
        measured = _score(score, facts)
        if len(measured.missing) > 1:
            worst = _score(score, _with(facts, worst_fields=measured.missing))
            band = protocol.map_category(score.band_for(worst.total).category)
            if band.is_more_urgent_than(category):
                names = ", ".join(FIELD_NAMES[f] for f in measured.missing)
                warnings.append(
                    f"{score.id.upper()} is {measured.total} from what was measured; with "
                    f"{names} not measured it could reach {worst.total} ({band.name})."
                )
    raised = _reach(protocol, _with(facts, assume_conditions=True))
    if raised.is_more_urgent_than(category):
        unknown = []
        if facts.patient.pregnant is None and facts.patient.sex != "male":
            unknown.append("pregnancy")
        if facts.patient.age_in_months is None:
            unknown.append("age")
        warnings.append(
            f"{' and '.join(unknown) or 'patient details'} not recorded: could raise the "
            f"category to {raised.name}."
        )
    return warnings


def _with(
    facts: _Facts,
    *,
    confirmed: frozenset[str] | None = None,
    worst_fields: Iterable[str] = (),
    assume_conditions: bool = False,
) -> _Facts:
    return _Facts(
        facts.patient,
        facts.vitals,
        facts.confirmed if confirmed is None else confirmed,
        frozenset(worst_fields),
        assume_conditions,
    )


def _json_number(value: float | str) -> float | int | str:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _show(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else value
