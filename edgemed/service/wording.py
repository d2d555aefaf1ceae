"""The words the nurse sees for a decision: category word, target time, what to do now, the note.

The category and its target time come from the protocol; this module only puts them into the
nurse's language. The handover note has two authors: a fixed template (rules-only mode, and the
fallback) and, where a model is installed, the model's wording of the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, assert_never

from edgemed.i18n import N_, _, format_number, protocol_text
from edgemed.protocol import (
    Category,
    Decision,
    Presence,
    Protocol,
    Reason,
    ReasonKind,
    RoutingCode,
    RoutingNote,
    TriageWarning,
    Vitals,
    WarningCode,
)
from edgemed.protocol.definition import FIELD_NAMES
from edgemed.protocol.routing import ROUTE_NOTES

from .encounter import Encounter

_COLOURS: dict[Category, str] = {
    Category.RED: N_("RED"),
    Category.ORANGE: N_("ORANGE"),
    Category.YELLOW: N_("YELLOW"),
    Category.GREEN: N_("GREEN"),
}
_WORDS: dict[Category, str] = {
    Category.RED: N_("Emergency"),
    Category.ORANGE: N_("Very urgent"),
    Category.YELLOW: N_("Urgent"),
    Category.GREEN: N_("Routine"),
}
# What to do now, per category (SATS/ETAT practice: where the patient goes and who sees them).
_ACTIONS: dict[Category, tuple[str, ...]] = {
    Category.RED: (
        N_("Move the patient to the resuscitation area now."),
        N_("Call the most senior clinician available."),
        N_("Start emergency treatment for the signs found; do not leave the patient alone."),
    ),
    Category.ORANGE: (
        N_("Move the patient to the emergency area."),
        N_("A clinician must see the patient within the target time."),
        N_("Re-check vital signs every 15 minutes while waiting."),
    ),
    Category.YELLOW: (
        N_("Keep the patient in the waiting area close to the nurses' station."),
        N_("Re-check vital signs if the wait exceeds the target time or the patient worsens."),
    ),
    Category.GREEN: (
        N_("The patient can wait in the general queue."),
        N_("Ask the patient to tell a nurse at once if they feel worse."),
    ),
}
_VITAL_NAMES: dict[str, str] = {
    "rr": N_("Respiratory rate"),
    "hr": N_("Heart rate"),
    "sbp": N_("Systolic BP"),
    "dbp": N_("Diastolic BP"),
    "temp_c": N_("Temperature"),
    "spo2": N_("SpO2"),
    "avpu": N_("AVPU"),
    "mobility": N_("Mobility"),
    "cap_refill_s": N_("Capillary refill"),
    "glucose_mmol": N_("Blood glucose"),
}
_VITAL_UNITS: dict[str, str] = {
    "rr": N_("/min"),
    "hr": N_("/min"),
    "sbp": "mmHg",
    "dbp": "mmHg",
    "temp_c": "°C",
    "spo2": "%",
    "cap_refill_s": N_("s"),
    "glucose_mmol": "mmol/L",
}


def colour_name(category: Category) -> str:
    return _(_COLOURS[category])


def category_word(category: Category) -> str:
    return _(_WORDS[category])


def actions(category: Category) -> tuple[str, ...]:
    return tuple(_(line) for line in _ACTIONS[category])


def vital_name(field: str) -> str:
    return _(_VITAL_NAMES.get(field, field))


def vital_unit(field: str) -> str:
    unit = _VITAL_UNITS.get(field, "")
    return _(unit) if unit else ""


# Short names for the protocols, as nurses know them.
_PROTOCOL_NAMES = {"sats-adult": "SATS", "iitt-adult": "IITT", "etat-child": "ETAT"}


def protocol_name(protocol_id: str) -> str:
    return _PROTOCOL_NAMES.get(protocol_id, protocol_id)


def consulted_text(decision: Decision) -> str:
    """Which protocols decided, e.g. "SATS 2012-edgemed.1 + IITT who-iitt-edgemed.1"."""
    if not decision.consulted:
        return f"{protocol_name(decision.protocol_id)} {decision.protocol_version}"
    return " + ".join(f"{protocol_name(c.id)} {c.version}" for c in decision.consulted)


def reason_text(reason: Reason) -> str:
    """A reason in the nurse's language, from what it is (``reason.kind``) and its values: the
    protocol's own words are catalog entries (extracted from the protocol files), the measured
    value shown after them is kept as it is. A reason from a protocol the safety net consulted
    says which ("IITT: Snake bite"). A reason read back from a record older than reasons with a
    kind is shown as it was recorded."""
    text = _reason_words(reason)
    if reason.protocol:
        return f"{protocol_name(reason.protocol)}: {text}"
    return text


def floor_text(decision: Decision) -> str:
    """The floor's reason as ``reason_text`` says it ("" when the decision has none): a screen
    that already names what is still to measure can leave it out."""
    floor = next((r for r in decision.reasons if r.kind is ReasonKind.FLOOR), None)
    return "" if floor is None else reason_text(floor)


def _reason_words(reason: Reason) -> str:
    kind = reason.kind
    if kind is None:
        return reason.text
    if kind is ReasonKind.RULE:
        words = protocol_text(reason.words)
        if reason.field and reason.value is not None:
            words += f" ({FIELD_NAMES.get(reason.field, reason.field)} {_shown(reason.value)})"
        return words
    if kind is ReasonKind.SCORE:
        return f"{protocol_text(reason.words)}: {reason.total} ({_band_text(reason.band)})"
    if kind is ReasonKind.BASELINE:
        # What did not fire: "no emergency sign, TEWS 1 (0-2), no discriminator".
        parts = [_("no emergency sign")]
        if reason.score and reason.total is not None:
            parts.append(f"{reason.score.upper()} {reason.total} ({_band_text(reason.band)})")
        elif reason.score:
            parts.append(_("{score} not measured").format(score=reason.score.upper()))
        parts.append(_("no discriminator"))
        return ", ".join(parts)
    if kind is ReasonKind.FLOOR:
        names = (*reason.missing, *reason.unmeasurable)
        return _("Not measured yet ({items}): the category cannot be lower until it is").format(
            items=", ".join(vital_name(n) for n in names)
        )
    if kind is ReasonKind.CONCERN:
        return _("Clinical concern (nurse): {reason}").format(reason=reason.note)
    assert_never(kind)


def _shown(value: float | int | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _band_text(band: tuple[int, int | None] | None) -> str:
    """A score band as the protocols print it: "5-6", "7+"."""
    if band is None:
        return ""
    low, high = band
    return f"{low}+" if high is None else f"{low}-{high}"


def _field_name(field: str) -> str:
    """A measurement or a patient fact, in the nurse's language."""
    if field in _VITAL_NAMES:
        return vital_name(field)
    return _(_PATIENT_FACTS.get(field, field))


def _finding_label(protocol: Protocol | None, finding_id: str) -> str:
    definition = None if protocol is None else protocol.findings.get(finding_id)
    return finding_id if definition is None else protocol_text(definition.label)


def warning_text(warning: TriageWarning, protocol: Protocol | None = None) -> str:
    """A warning in the nurse's language, from its code and values; ``protocol`` (the triage
    view) names the signs. A warning read back from a record older than warning codes is shown
    as it was recorded."""
    code = warning.code
    if code is None:
        return warning.text
    colour = "" if warning.category is None else colour_name(warning.category)
    if code is WarningCode.UNCONFIRMED_PROPOSAL:
        return _(
            "Unconfirmed proposal: {label} would raise the category to {colour}. Confirm or "
            "reject it."
        ).format(label=_finding_label(protocol, warning.finding), colour=colour)
    if code is WarningCode.FINDING_UNKNOWN:
        return _("{label} is not known: if present, the category would rise to {colour}.").format(
            label=_finding_label(protocol, warning.finding), colour=colour
        )
    if code is WarningCode.MISSING_INPUT:
        return _("{field} not measured: it could raise the category to {colour}.").format(
            field=_field_name(warning.field), colour=colour
        )
    if code is WarningCode.NOT_RECORDED:
        facts = " + ".join(_field_name(f) for f in warning.fields) or _(
            _PATIENT_FACTS["patient details"]
        )
        return _("{field} not recorded: it could raise the category to {colour}.").format(
            field=facts, colour=colour
        )
    if code is WarningCode.SCORE_INCOMPLETE:
        return _(
            "{score} is {total} from what was measured; with {fields} not measured it could "
            "reach {worst} ({colour})."
        ).format(
            score=warning.score.upper(),
            total=warning.total,
            fields=", ".join(_field_name(f) for f in warning.fields),
            worst=warning.worst,
            colour=colour,
        )
    if code is WarningCode.IMPLAUSIBLE_VITAL:
        return _(
            "{name} {value} is unusual (expected {low} to {high}): re-measure before relying on it."
        ).format(
            name=vital_name(warning.field),
            value=_with_unit(warning.field, warning.value),
            low=_number(warning.low),
            high=_number(warning.high),
        )
    if code is WarningCode.DIASTOLIC_NOT_BELOW_SYSTOLIC:
        return _(
            "{diastolic} {dbp} is not below {systolic} {sbp}: re-measure the blood pressure."
        ).format(
            diastolic=vital_name("dbp"),
            dbp=_number(warning.value),
            systolic=vital_name("sbp"),
            sbp=_number(warning.high),
        )
    if code is WarningCode.CONCERN_NOT_HIGHER:
        return _(
            "Clinical concern at {concern} recorded; the protocol already reached {colour}, "
            "and a concern never lowers the category."
        ).format(
            concern=colour,
            colour="" if warning.reached is None else colour_name(warning.reached),
        )
    assert_never(code)


def routing_text(note: RoutingNote) -> str:
    """Why this protocol for this patient, in the nurse's language, from the note's code and
    values. A note read back from a record older than routing codes is shown as it was recorded
    (translated when it is one of the fixed notes)."""
    code = note.code
    if code is None:
        return protocol_text(note.text)
    if code is RoutingCode.FORCED:
        return _forced_text(note)
    return protocol_text(ROUTE_NOTES[code])


def _years(months: float) -> str:
    return format_number(months / 12)


def _forced_text(note: RoutingNote) -> str:
    """A protocol chosen for a patient outside the ages it is meant for."""
    names = {"protocol": protocol_name(note.protocol), "routed": protocol_name(note.routed)}
    low, high = note.age_months_min, note.age_months_below
    if low is not None and high is not None:
        return _(
            "{protocol} is meant for patients from {low} to under {high} years; it was chosen "
            "for this patient. By age, edgemed would use {routed}."
        ).format(low=_years(low), high=_years(high), **names)
    if high is not None:
        return _(
            "{protocol} is meant for patients under {years} years; it was chosen for this "
            "patient. By age, edgemed would use {routed}."
        ).format(years=_years(high), **names)
    if low is not None:
        return _(
            "{protocol} is meant for patients of {years} years and over; it was chosen for this "
            "patient. By age, edgemed would use {routed}."
        ).format(years=_years(low), **names)
    return _("{protocol} was chosen for this patient; by age, edgemed would use {routed}.").format(
        **names
    )


def _number(value: float | None) -> str:
    return "" if value is None else format_number(float(value))


def _with_unit(field: str, value: float | None) -> str:
    unit = vital_unit(field)
    return f"{_number(value)} {unit}" if unit else _number(value)


_PATIENT_FACTS = {
    "pregnancy": N_("Pregnancy"),
    "age": N_("Age"),
    "patient details": N_("Patient details"),
    "trauma": N_("Injury (trauma)"),
}


def target_text(minutes: int) -> str:
    if minutes <= 0:
        return _("Immediately")
    if minutes < 120:
        return _("Within {minutes} minutes").format(minutes=minutes)
    return _("Within {hours} hours").format(hours=minutes // 60)


def vitals_lines(vitals: Vitals) -> list[str]:
    """One readable line per measured vital, in the current language."""
    lines = []
    for field, value in vitals.to_dict().items():
        if value is None:
            continue
        shown = value if isinstance(value, str) else format_number(float(value))
        unit = vital_unit(field)
        lines.append(f"{vital_name(field)}: {shown}{' ' + unit if unit else ''}")
    return lines


def findings_lines(
    encounter: Encounter, labels: Mapping[str, str], include_absent: bool = True
) -> list[str]:
    """The nurse-confirmed findings only: proposals never reach the note as facts."""
    present, absent = [], []
    for finding in encounter.findings():
        if finding.reporter.name != "NURSE":
            continue
        label = labels.get(finding.id, finding.id)
        if finding.presence is Presence.PRESENT:
            present.append(label)
        elif finding.presence is Presence.ABSENT:
            absent.append(label)
    lines = []
    if present:
        lines.append(_("Present: {items}").format(items=", ".join(present)))
    if absent and include_absent:
        lines.append(_("Absent: {items}").format(items=", ".join(absent)))
    return lines


def model_heading() -> str:
    return _("Summary written by the local model (check it before saving):")


def template_note(
    encounter: Encounter,
    decision: Decision,
    reasons: tuple[str, ...],
    labels: Mapping[str, str],
    include_absent: bool = True,
) -> str:
    """The handover note written from the facts alone (rules-only mode, and the fallback).

    Without ``include_absent`` it is what a model is given to word: small models turn a list of
    absent signs into present ones, so they never see that list.
    """
    who = encounter.patient_name or _("Patient")
    lines = [
        _("Handover: {who}").format(who=who),
        _("Complaint: {text}").format(text=encounter.complaint or "-"),
        _("Triage: {colour} ({word}), {target}.").format(
            colour=colour_name(decision.category),
            word=category_word(decision.category),
            target=target_text(decision.target_minutes),
        ),
    ]
    lines += [_("Because: {reason}").format(reason=reason) for reason in reasons]
    lines += findings_lines(encounter, labels, include_absent)
    lines += vitals_lines(encounter.vitals)
    return "\n".join(lines)


def handover_messages(facts: str) -> list[tuple[Literal["system", "user"], str]]:
    """The chat the model gets: rewrite the facts as a short note, adding nothing."""
    system = (
        "You write short clinical handover notes for a nurse. Use only the facts given. "
        "Do not add diagnoses, treatments or a different triage category. "
        "Answer in the same language as the facts."
    )
    return [("system", system), ("user", "Facts:\n" + facts + "\n\nHandover note:")]
