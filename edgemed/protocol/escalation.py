"""What could still raise the category: unconfirmed or unknown signs, unmeasured items,
unknown patient facts. Each becomes a warning naming it and the level it could reach; none of
them ever changes the category itself.

Every "what if" is asked of the whole ``System``: the primary protocol and the protocols the
safety net consults for this patient.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from edgemed.protocol.definition import FIELD_NAMES, FindingDefinition, Protocol, measurement
from edgemed.protocol.domain import (
    Category,
    Finding,
    Presence,
    Reporter,
    TriageWarning,
    WarningCode,
    most_urgent,
)
from edgemed.protocol.net import relevant
from edgemed.protocol.rules import Facts, plan_for, reach, score_items, with_facts


@dataclass(frozen=True)
class System:
    """The primary protocol and the consulted ones (already mapped onto the primary's levels)."""

    primary: Protocol
    nets: tuple[Protocol, ...] = ()

    @property
    def protocols(self) -> tuple[Protocol, ...]:
        return (self.primary, *self.nets)

    def definition(self, finding_id: str) -> FindingDefinition | None:
        for protocol in self.protocols:
            definition = protocol.findings.get(finding_id)
            if definition is not None:
                return definition
        return None

    def reach(self, facts: Facts) -> Category:
        """The category these facts reach in the most urgent of the protocols."""
        return most_urgent(reach(protocol, facts) for protocol in self.protocols)

    def fields(self) -> list[str]:
        """Every measurement any of the protocols looks at, the primary's first."""
        out: list[str] = []
        for protocol in self.protocols:
            out += [f for f in plan_for(protocol).fields if f not in out]
        return out


def finding_warnings(
    system: System, facts: Facts, findings: Sequence[Finding], category: Category
) -> list[TriageWarning]:
    """Unconfirmed proposals and signs marked unknown that would raise the category."""
    warnings: list[TriageWarning] = []
    for finding in findings:
        if finding.id in facts.confirmed or finding.presence is Presence.ABSENT:
            continue
        raised = system.reach(with_facts(facts, confirmed=facts.confirmed | {finding.id}))
        if not raised.is_more_urgent_than(category):
            continue
        definition = system.definition(finding.id)
        label = definition.label if definition is not None else finding.id
        if finding.reporter is Reporter.PROPOSAL and finding.presence is Presence.PRESENT:
            code = WarningCode.UNCONFIRMED_PROPOSAL
            text = (
                f"Unconfirmed proposal '{finding.id}' ({label}) would raise the category to "
                f"{raised.name}: confirm or reject."
            )
        else:
            code = WarningCode.FINDING_UNKNOWN
            text = (
                f"'{finding.id}' ({label}) is not known: if present it would raise the category "
                f"to {raised.name}."
            )
        warnings.append(TriageWarning(code, text, finding=finding.id, category=raised))
    return warnings


def missing_warnings(
    system: System, facts: Facts, category: Category, skip: Collection[str] = ()
) -> list[TriageWarning]:
    """Each unmeasured item (and unknown patient fact) that could raise the category.

    ``skip``: items the decision already names (missing, or marked could-not-be-measured). An
    item that matters only for some patients (glucose) is not warned about for the others.
    """
    warnings: list[TriageWarning] = []
    missing = [
        f
        for f in system.fields()
        if measurement(f, facts.patient, facts.vitals) is None
        and f not in skip
        and relevant(f, facts.patient, facts.vitals, facts.confirmed)
    ]
    for field in missing:
        raised = system.reach(with_facts(facts, worst_fields={field}))
        if raised.is_more_urgent_than(category):
            if field == "trauma":  # a fact about the patient, not a measurement
                warnings.append(
                    TriageWarning(
                        WarningCode.NOT_RECORDED,
                        f"{FIELD_NAMES[field]} not recorded: could raise the category to "
                        f"{raised.name}.",
                        fields=(field,),
                        category=raised,
                    )
                )
            else:
                warnings.append(
                    TriageWarning(
                        WarningCode.MISSING_INPUT,
                        f"{FIELD_NAMES[field]} not measured: could raise the category to "
                        f"{raised.name}.",
                        field=field,
                        category=raised,
                    )
                )
    protocol = system.primary
    if protocol.score is not None and not skip:
        score = protocol.score
        measured = score_items(score, facts)
        if len(measured.missing) > 1:
            worst = score_items(score, with_facts(facts, worst_fields=measured.missing))
            band = protocol.map_category(score.band_for(worst.total).category)
            if band.is_more_urgent_than(category):
                names = ", ".join(FIELD_NAMES[f] for f in measured.missing)
                warnings.append(
                    TriageWarning(
                        WarningCode.SCORE_INCOMPLETE,
                        f"{score.id.upper()} is {measured.total} from what was measured; with "
                        f"{names} not measured it could reach {worst.total} ({band.name}).",
                        fields=measured.missing,
                        category=band,
                        score=score.id,
                        total=measured.total,
                        worst=worst.total,
                    )
                )
    raised = system.reach(with_facts(facts, assume_conditions=True))
    if raised.is_more_urgent_than(category):
        unknown = []
        if facts.patient.pregnant is None and facts.patient.sex != "male":
            unknown.append("pregnancy")
        if facts.patient.age_in_months is None:
            unknown.append("age")
        warnings.append(
            TriageWarning(
                WarningCode.NOT_RECORDED,
                f"{' and '.join(unknown) or 'patient details'} not recorded: could raise the "
                f"category to {raised.name}.",
                fields=tuple(unknown),
                category=raised,
            )
        )
    return warnings
