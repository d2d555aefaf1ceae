"""The deterministic triage engine: emergency signs, then the score, then discriminators, for
the primary protocol and every protocol the safety net consults; then the floor for missing data
and the nurse's clinical concern.

The category is the most urgent level any rule of any consulted protocol reached (mapped onto the
primary's levels); every rule that fired becomes a Reason naming its inputs, its source and, for a
consulted protocol, which one. Only what the nurse confirmed as present counts. What is missing or
unconfirmed never lowers the category: a missing input the decision needs makes it incomplete and
floors it ("at least"), anything else becomes a warning saying how far it could raise it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from edgemed.protocol.definition import FIELD_NAMES, Protocol, measurement
from edgemed.protocol.domain import (
    Category,
    Concern,
    Consulted,
    Decision,
    Finding,
    Patient,
    Reason,
    ReasonKind,
    RoutingCode,
    RoutingNote,
    TriageWarning,
    Vitals,
    WarningCode,
    most_urgent,
)
from edgemed.protocol.errors import InvalidCase, UnknownFinding
from edgemed.protocol.escalation import System, finding_warnings, missing_warnings
from edgemed.protocol.library import load_protocol, suggest_findings
from edgemed.protocol.net import consulted_protocols, floor_for, load_net
from edgemed.protocol.routing import route
from edgemed.protocol.rules import (
    Facts,
    category_of,
    fired,
    score_items,
    score_reason,
    with_facts,
)
from edgemed.protocol.vital_limits import check_patient, check_vitals

BASELINE_RULE = "baseline"
FLOOR_RULE = "floor"
CONCERN_RULE = "clinical_concern"
UNMEASURABLE_REASON_MAX = 200


def assess(
    patient: Patient,
    vitals: Vitals,
    findings: Sequence[Finding],
    protocol_id: str | None = None,
    *,
    unmeasurable: Mapping[str, str] | None = None,
    concern: Concern | None = None,
    net: bool = True,
) -> Decision:
    """Triage one patient. Raises ``ProtocolError`` subclasses for input a nurse must correct.

    ``unmeasurable`` maps an input the nurse could not measure to the reason (it finishes an
    incomplete decision, never lowers it); ``concern`` is the nurse's clinical concern (it can
    only raise the category). ``net=False`` decides with the primary protocol file alone: no
    consulted protocol, no floor (for testing and reviewing one file as its source says).
    """
    check_patient(patient)
    warnings: list[TriageWarning] = list(check_vitals(vitals))
    unmeasurable = _checked_unmeasurable(unmeasurable or {}, vitals, patient)
    routing_note: RoutingNote | None = None
    if protocol_id is None:
        protocol_id, routing_note = route(patient)
    primary = load_protocol(protocol_id)
    if primary.ages.applies(patient) is False:
        routed_id, _ = route(patient)
        routing_note = RoutingNote(
            RoutingCode.FORCED,
            f"{primary.id} is meant for: {primary.applies_to} It was chosen for this patient; "
            f"by age edgemed would use {routed_id}.",
            protocol=primary.id,
            routed=routed_id,
            age_months_min=primary.ages.age_months_min,
            age_months_below=primary.ages.age_months_below,
        )
    system = System(primary, consulted_protocols(primary, patient) if net else ())
    for finding in findings:
        if system.definition(finding.id) is None:
            raise UnknownFinding(
                _shown(finding.id), primary.id, suggest_findings(primary, finding.id)
            )
    confirmed = frozenset(f.id for f in findings if f.counts)
    facts = Facts(patient, vitals, confirmed)

    reasons = fired(primary, facts)
    category = category_of(primary, reasons)
    consulted = [Consulted(primary.id, primary.version, primary.sha256, "primary", category)]
    for other in system.nets:
        net_reasons = fired(other, facts)
        reached = category_of(other, net_reasons)
        consulted.append(Consulted(other.id, other.version, other.sha256, "net", reached))
        # Only what the net adds: its rules more urgent than the primary's own result.
        reasons += [
            replace(r, protocol=other.id)
            for r in net_reasons
            if r.category.is_more_urgent_than(consulted[0].category)
        ]
        category = most_urgent([category, reached])
    if category is primary.lowest().category:
        reasons.append(_baseline(primary, facts, category))
    elif primary.score is not None and all(r.rule_id != primary.score.id for r in reasons):
        # The score was taken even when a discriminator decided: show it.
        shown = score_reason(primary, primary.score, facts, always=True)
        if shown is not None:
            reasons.append(shown)

    missing, unmeasured = (
        ([], []) if not net else _missing_inputs(system, facts, category, unmeasurable)
    )
    floor = floor_for(primary.id) if net else None
    if floor is not None and (missing or unmeasured):
        floored = primary.map_category(floor.category)
        if floored.is_more_urgent_than(category):
            category = floored
            names = ", ".join(FIELD_NAMES[f] for f in (*missing, *unmeasured))
            reasons.append(
                Reason(
                    FLOOR_RULE,
                    floored,
                    f"Not enough measured to go lower: {names}",
                    {"missing": list(missing), "unmeasurable": list(unmeasured)},
                    floor.source,
                    floor.verified,
                    kind=ReasonKind.FLOOR,
                    missing=tuple(missing),
                    unmeasurable=tuple(unmeasured),
                )
            )
    if concern is not None:
        raised = primary.map_category(concern.category)
        if raised.is_more_urgent_than(category):
            category = raised
            reasons.append(
                Reason(
                    CONCERN_RULE,
                    raised,
                    f"Clinical concern: {concern.reason}",
                    {"concern": concern.reason},
                    "nurse",
                    True,
                    kind=ReasonKind.CONCERN,
                    note=concern.reason,
                )
            )
        elif raised is not category:
            warnings.append(
                TriageWarning(
                    WarningCode.CONCERN_NOT_HIGHER,
                    f"Clinical concern at {raised.name} recorded; the protocol already reached "
                    f"{category.name}, and a concern never lowers the category.",
                    category=raised,
                    reached=category,
                )
            )

    warnings += finding_warnings(system, facts, findings, category)
    warnings += missing_warnings(system, facts, category, skip=set(missing) | set(unmeasurable))

    level = primary.level(category)
    safety_net = load_net()
    return Decision(
        category=category,
        target_minutes=level.target_minutes,
        reasons=tuple(sorted(reasons, key=lambda r: r.category.urgency)),
        warnings=tuple(warnings),
        protocol_id=primary.id,
        protocol_version=primary.version,
        protocol_sha256=primary.sha256,
        routing_note=routing_note,
        protocol_level=level.word,
        incomplete=bool(missing),
        missing=tuple(missing),
        unmeasurable=dict(unmeasurable),
        concern=concern,
        consulted=tuple(consulted),
        net_version=safety_net.version if net else "",
        net_sha256=safety_net.sha256 if net else "",
    )


def _shown(finding_id: str) -> str:
    """A finding id short enough to echo back in a message."""
    return finding_id if len(finding_id) <= 60 else f"{finding_id[:57]}..."


def _checked_unmeasurable(
    unmeasurable: Mapping[str, str], vitals: Vitals, patient: Patient
) -> dict[str, str]:
    out: dict[str, str] = {}
    for field, reason in unmeasurable.items():
        if field not in FIELD_NAMES:
            raise InvalidCase(
                f"unmeasurable: {_shown(str(field))!r} is not a measurement; "
                f"allowed: {', '.join(FIELD_NAMES)}."
            )
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidCase(f"unmeasurable: say why {FIELD_NAMES[field]} could not be measured.")
        if len(reason) > UNMEASURABLE_REASON_MAX:
            raise InvalidCase(
                f"unmeasurable: the reason for {FIELD_NAMES[field]} is longer than "
                f"{UNMEASURABLE_REASON_MAX} characters."
            )
        if measurement(field, patient, vitals) is not None:
            raise InvalidCase(
                f"unmeasurable: {FIELD_NAMES[field]} was measured; remove one of the two."
            )
        out[field] = reason.strip()
    return out


def _missing_inputs(
    system: System, facts: Facts, category: Category, unmeasurable: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """The floor's inputs that are not measured, when their worst values (together: a score
    adds them up) could raise the category: (still to measure, marked could-not-be-measured)."""
    floor = floor_for(system.primary.id)
    if floor is None:
        return [], []
    unknown = [f for f in floor.inputs if measurement(f, facts.patient, facts.vitals) is None]
    if not unknown:
        return [], []
    if not system.reach(with_facts(facts, worst_fields=unknown)).is_more_urgent_than(category):
        return [], []
    missing = [f for f in unknown if f not in unmeasurable]
    unmeasured = [f for f in unknown if f in unmeasurable]
    return missing, unmeasured


def _baseline(protocol: Protocol, facts: Facts, category: Category) -> Reason:
    """The reason for the lowest level: nothing more urgent fired, said in the protocol's terms."""
    parts = ["no emergency sign"]
    inputs: dict[str, object] = {"findings": sorted(facts.confirmed)}
    score, total, shown_band = "", None, None
    if protocol.score is not None:
        score = protocol.score.id
        result = score_items(protocol.score, facts)
        band = protocol.score.band_for(result.total)
        upper = "+" if band.max_total is None else f"-{band.max_total}"
        if result.items:
            total, shown_band = result.total, (band.min_total, band.max_total)
            parts.append(f"{score.upper()} {result.total} ({band.min_total}{upper})")
        else:
            parts.append(f"{score.upper()} not measured")
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
        kind=ReasonKind.BASELINE,
        score=score,
        total=total,
        band=shown_band,
    )
