"""The deterministic triage engine: emergency signs, then the score, then discriminators.

The category is the most urgent level any rule reached; every rule that fired becomes a Reason
naming its inputs and source. Only what the nurse confirmed as present counts. What is missing
or unconfirmed never lowers the category: it becomes a warning saying how far it could raise it.
"""

from __future__ import annotations

from collections.abc import Sequence

from edgemed.protocol.definition import Protocol
from edgemed.protocol.domain import Category, Decision, Finding, Patient, Reason, Vitals
from edgemed.protocol.escalation import finding_warnings, missing_warnings
from edgemed.protocol.evaluation import (
    Facts,
    category_of,
    fired,
    score_items,
    score_reason,
)
from edgemed.protocol.library import finding_definition, load_protocol
from edgemed.protocol.routing import route
from edgemed.protocol.vital_limits import check_patient, check_vitals

BASELINE_RULE = "baseline"


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
    facts = Facts(patient, vitals, confirmed)

    reasons = fired(protocol, facts)
    category = category_of(protocol, reasons)
    if category is protocol.lowest().category:
        reasons.append(_baseline(protocol, facts, category))
    elif protocol.score is not None and all(r.rule_id != protocol.score.id for r in reasons):
        # The score was taken even when a discriminator decided: show it.
        shown = score_reason(protocol, protocol.score, facts, always=True)
        if shown is not None:
            reasons.append(shown)
    warnings += finding_warnings(protocol, facts, findings, category)
    warnings += missing_warnings(protocol, facts, category)

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


def _baseline(protocol: Protocol, facts: Facts, category: Category) -> Reason:
    """The reason for the lowest level: nothing more urgent fired, said in the protocol's terms."""
    parts = ["no emergency sign"]
    inputs: dict[str, object] = {"findings": sorted(facts.confirmed)}
    if protocol.score is not None:
        result = score_items(protocol.score, facts)
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
