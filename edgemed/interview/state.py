"""The triage interview as a state machine: given what is known, what to ask next.

Order, as the protocols teach it: emergency signs first (they end the interview: go straight to
the action), then the patient's age when the protocol depends on it, then the measurements that
can still change the category, then the discriminators that could raise it (those the complaint
suggested first). A question whose answer cannot change the category is never asked; when no
question is left, the interview is complete.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from edgemed.i18n import N_, _
from edgemed.protocol import (
    AVPU,
    Category,
    Finding,
    Mobility,
    Patient,
    Presence,
    Protocol,
    Reporter,
    Vitals,
    assess,
)
from edgemed.protocol.errors import ProtocolError
from edgemed.protocol.net import relevant
from edgemed.protocol.vital_limits import pregnancy_possible

# Stages, in the order they are asked.
EMERGENCY = "emergency_sign"
AGE = "age"
PREGNANCY = "pregnancy"
VITAL = "vital"
DISCRIMINATOR = "discriminator"

VITAL_QUESTIONS: dict[str, str] = {
    "rr": N_("What is the breathing rate (breaths per minute)?"),
    "hr": N_("What is the heart rate (beats per minute)?"),
    "sbp": N_("What is the systolic blood pressure (mmHg)?"),
    "dbp": N_("What is the diastolic blood pressure (mmHg)?"),
    "temp_c": N_("What is the temperature (°C)?"),
    "spo2": N_("What is the oxygen saturation (SpO2, %)?"),
    "avpu": N_(
        "How responsive is the patient: alert, confused, responds to voice, to pain, or not at all?"
    ),
    "mobility": N_("Can the patient walk: unaided, with help, or not at all?"),
    "cap_refill_s": N_("What is the capillary refill time (seconds)?"),
    "glucose_mmol": N_("What is the blood glucose (mmol/L)?"),
    "trauma": N_("Is this an injury (trauma)?"),
}
AGE_QUESTION = N_("How old is the patient?")
PREGNANCY_KEY = "pregnant"
PREGNANCY_QUESTION = N_(
    "Could she be pregnant (a missed period, or last period more than 4 weeks ago)?"
)
_NEEDED = N_("Needed to finish the decision: without it the category is only a floor.")
_REASONS = {
    EMERGENCY: N_("Emergency sign: check it first."),
    AGE: N_("The protocol depends on the age."),
    PREGNANCY: N_("In pregnancy these signs are more urgent."),
    VITAL: N_("This measurement can still change the category."),
    DISCRIMINATOR: N_("This sign would raise the category."),
}
# Step used to probe either side of a threshold cell.
_STEP = {"temp_c": 0.5, "cap_refill_s": 0.5, "glucose_mmol": 0.5}


@dataclass(frozen=True)
class Question:
    """One thing to ask or measure, already in the nurse's language."""

    stage: str
    key: str  # a finding id, a vital field, or "age"
    text: str
    reason: str
    could_reach: Category


@dataclass(frozen=True)
class InterviewState:
    category: Category
    complete: bool
    stopped_early: bool  # the most urgent category is reached: act now
    next: Question | None


def _confirmed(protocol: Protocol, findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.id in protocol.findings]


def _answered(findings: Iterable[Finding]) -> set[str]:
    return {
        f.id
        for f in findings
        if f.reporter is Reporter.NURSE and f.presence is not Presence.UNKNOWN
    }


def _category(
    protocol: Protocol, patient: Patient, vitals: Vitals, findings: Sequence[Finding]
) -> Category:
    return assess(patient, vitals, findings, protocol.id).category


def _probe_values(protocol: Protocol, field: str) -> Sequence[object]:
    if field == "avpu":
        return list(AVPU)
    if field == "mobility":
        return list(Mobility)
    if field == "trauma":
        return [True]
    bounds: set[float] = set()
    thresholds = [r.vital for r in protocol.rules if r.vital is not None and r.vital.field == field]
    if protocol.score is not None:
        for parameter in protocol.score.parameters:
            if parameter.field == field:
                thresholds.extend(c.threshold for c in parameter.cells)
    for t in thresholds:
        for bound in (t.gt, t.ge, t.lt, t.le):
            if bound is not None:
                bounds.add(float(bound))
    step = _STEP.get(field, 1.0)
    return sorted({b + d for b in bounds for d in (-step, 0.0, step)})


def _vital_fields(protocol: Protocol) -> list[str]:
    fields: list[str] = []
    for rule in protocol.rules:
        if rule.vital is not None and rule.vital.field not in fields:
            fields.append(rule.vital.field)
    if protocol.score is not None:
        for parameter in protocol.score.parameters:
            if parameter.field not in fields:
                fields.append(parameter.field)
    return fields


def _with(patient: Patient, vitals: Vitals, field: str, value: object) -> tuple[Patient, Vitals]:
    if field == "trauma":
        return replace(patient, trauma=bool(value)), vitals
    changes: dict[str, Any] = {field: value}
    return patient, replace(vitals, **changes)


def _worst_vital(
    protocol: Protocol, patient: Patient, vitals: Vitals, findings: Sequence[Finding], field: str
) -> Category | None:
    """The most urgent category some value of an unmeasured ``field`` would give."""
    reached: Category | None = None
    for value in _probe_values(protocol, field):
        p, v = _with(patient, vitals, field, value)
        try:
            category = _category(protocol, p, v, findings)
        except ProtocolError:
            continue  # an impossible probe value (e.g. below the plausible range)
        if reached is None or category.urgency < reached.urgency:
            reached = category
    return reached


def _measured(patient: Patient, vitals: Vitals, field: str) -> bool:
    if field == "trauma":
        return patient.trauma is not None
    return vitals.get(field) is not None


def _finding_question(protocol: Protocol, stage: str, finding_id: str) -> Question:
    definition = protocol.findings[finding_id]
    return Question(
        stage, finding_id, _(definition.question), _(_REASONS[stage]), definition.category
    )


def _raises(
    protocol: Protocol,
    patient: Patient,
    vitals: Vitals,
    findings: Sequence[Finding],
    finding_id: str,
    current: Category,
) -> Category | None:
    """The category a "yes" to ``finding_id`` would give, when it is more urgent than now."""
    with_it = [*(f for f in findings if f.id != finding_id), Finding(finding_id)]
    try:
        reached = _category(protocol, patient, vitals, with_it)
    except ProtocolError:
        return None
    return reached if reached.is_more_urgent_than(current) else None


def questions(
    protocol: Protocol,
    patient: Patient,
    vitals: Vitals,
    findings: Sequence[Finding],
    suggested: Collection[str] = (),
) -> list[Question]:
    """Every question still worth asking, in the order to ask them: only those whose answer
    can change the category (a sign that counts only with another is asked once that other is
    known), and the measurements the decision needs to be complete."""
    findings = _confirmed(protocol, findings)
    decision = assess(patient, vitals, findings, protocol.id)
    current = decision.category
    most_urgent = protocol.levels[0].category
    if current is most_urgent:
        return []
    answered = _answered(findings)
    confirmed = frozenset(f.id for f in findings if f.counts)
    pending: list[Question] = []
    for fid, definition in protocol.findings.items():
        if definition.category is most_urgent and definition.alone and fid not in answered:
            pending.append(_finding_question(protocol, EMERGENCY, fid))
    if patient.age_in_months is None:
        pending.append(Question(AGE, "age", _(AGE_QUESTION), _(_REASONS[AGE]), most_urgent))
    if patient.pregnant is None and pregnancy_possible(patient):
        try:
            pregnant = _category(protocol, replace(patient, pregnant=True), vitals, findings)
        except ProtocolError:
            pregnant = current
        if pregnant.is_more_urgent_than(current):
            pending.append(
                Question(
                    PREGNANCY,
                    PREGNANCY_KEY,
                    _(PREGNANCY_QUESTION),
                    _(_REASONS[PREGNANCY]),
                    pregnant,
                )
            )
    vital_questions = []
    for field in _vital_fields(protocol):
        if _measured(patient, vitals, field):
            continue
        if field in decision.missing:
            text = _(VITAL_QUESTIONS.get(field, field))
            worst = _worst_vital(protocol, patient, vitals, findings, field) or current
            vital_questions.append(Question(VITAL, field, text, _(_NEEDED), worst))
            continue
        if not relevant(field, patient, vitals, confirmed):
            continue  # e.g. glucose for an alert patient with no seizure
        reach = _worst_vital(protocol, patient, vitals, findings, field)
        if reach is not None and reach.urgency < current.urgency:
            text = _(VITAL_QUESTIONS.get(field, field))
            vital_questions.append(Question(VITAL, field, text, _(_REASONS[VITAL]), reach))
    pending.extend(sorted(vital_questions, key=lambda q: q.could_reach.urgency))
    discriminators: list[tuple[str, Category]] = []
    for fid, d in protocol.findings.items():
        if (d.category is most_urgent and d.alone) or fid in answered:
            continue
        # Every sign is tried: one that is only orange alone can be red in company (heavy
        # bleeding in pregnancy).
        reached = _raises(protocol, patient, vitals, findings, fid, current)
        if reached is not None:
            discriminators.append((fid, reached))
    # The complaint's suggestions first, then the rest by how far they would raise the category.
    discriminators.sort(key=lambda pair: (pair[0] not in suggested, pair[1].urgency))
    pending.extend(_finding_question(protocol, DISCRIMINATOR, fid) for fid, _c in discriminators)
    return pending


def interview_state(
    protocol: Protocol,
    patient: Patient,
    vitals: Vitals,
    findings: Sequence[Finding],
    suggested: Collection[str] = (),
) -> InterviewState:
    """Where the interview stands: the category so far, and whether anything is left to ask."""
    mine = _confirmed(protocol, findings)
    current = _category(protocol, patient, vitals, mine)
    stopped = current is protocol.levels[0].category
    remaining = [] if stopped else questions(protocol, patient, vitals, mine, suggested)
    return InterviewState(
        current, stopped or not remaining, stopped, remaining[0] if remaining else None
    )


def next_question(
    protocol: Protocol | str,
    patient: Patient,
    vitals: Vitals,
    findings: Sequence[Finding],
    suggested: Collection[str] = (),
) -> Question | None:
    """The next question, or ``None`` when the interview is complete or the most urgent
    category is already reached (then the nurse acts instead of asking)."""
    if isinstance(protocol, str):
        from edgemed.protocol import load_protocol

        protocol = load_protocol(protocol)
    remaining = questions(protocol, patient, vitals, findings, suggested)
    return remaining[0] if remaining else None


def answer_finding(findings: Sequence[Finding], finding_id: str, present: bool) -> list[Finding]:
    """The findings after the nurse answered yes/no to one sign (a later answer replaces)."""
    kept = [f for f in findings if f.id != finding_id]
    presence = Presence.PRESENT if present else Presence.ABSENT
    return [*kept, Finding(finding_id, presence, Reporter.NURSE)]
