"""What could still raise the category: unconfirmed or unknown signs, unmeasured items,
unknown patient facts. Each becomes a warning naming it and the level it could reach; none of
them ever changes the category itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from edgemed.protocol.definition import FIELD_NAMES, Protocol, measurement
from edgemed.protocol.domain import Category, Finding, Presence, Reporter
from edgemed.protocol.evaluation import Facts, plan_for, reach, score_items, with_facts


def finding_warnings(
    protocol: Protocol, facts: Facts, findings: Sequence[Finding], category: Category
) -> list[str]:
    """Unconfirmed proposals and signs marked unknown that would raise the category."""
    warnings = []
    for finding in findings:
        if finding.id in facts.confirmed or finding.presence is Presence.ABSENT:
            continue
        raised = reach(protocol, with_facts(facts, confirmed=facts.confirmed | {finding.id}))
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


def missing_warnings(protocol: Protocol, facts: Facts, category: Category) -> list[str]:
    """Each unmeasured item (and unknown patient fact) that could raise the category."""
    warnings = []
    fields = plan_for(protocol).fields
    missing = [f for f in fields if measurement(f, facts.patient, facts.vitals) is None]
    for field in missing:
        raised = reach(protocol, with_facts(facts, worst_fields={field}))
        if raised.is_more_urgent_than(category):
            what = "not recorded" if field == "trauma" else "not measured"
            warnings.append(
                f"{FIELD_NAMES[field]} {what}: could raise the category to {raised.name}."
            )
    if protocol.score is not None:
        score = protocol.score
        measured = score_items(score, facts)
        if len(measured.missing) > 1:
            worst = score_items(score, with_facts(facts, worst_fields=measured.missing))
            band = protocol.map_category(score.band_for(worst.total).category)
            if band.is_more_urgent_than(category):
                names = ", ".join(FIELD_NAMES[f] for f in measured.missing)
                warnings.append(
                    f"{score.id.upper()} is {measured.total} from what was measured; with "
                    f"{names} not measured it could reach {worst.total} ({band.name})."
                )
    raised = reach(protocol, with_facts(facts, assume_conditions=True))
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
