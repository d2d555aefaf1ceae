"""The words the nurse sees for a decision: category word, target time, what to do now, the note.

The category and its target time come from the protocol; this module only puts them into the
nurse's language. The handover note has two authors: a fixed template (rules-only mode, and the
fallback) and, where a model is installed, the model's wording of the same facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from edgemed.i18n import N_, _, format_number, protocol_text
from edgemed.protocol import Category, Decision, Presence, Protocol, Reason, Vitals
from edgemed.protocol.definition import FIELD_NAMES

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


def reason_text(protocol: Protocol, reason: Reason) -> str:
    """A reason in the nurse's language: the rule's own words are catalog entries (extracted from
    the protocol files), the measured value that follows them is kept as it is. A reason from a
    protocol the safety net consulted says which ("IITT: Snake bite")."""
    if reason.rule_id == "floor":
        names = reason.inputs.get("missing", []) + reason.inputs.get("unmeasurable", [])  # type: ignore[operator]
        return _("Not measured yet ({items}): the category cannot be lower until it is").format(
            items=", ".join(vital_name(str(n)) for n in names)
        )
    if reason.rule_id == "clinical_concern":
        return _("Clinical concern (nurse): {reason}").format(
            reason=reason.inputs.get("concern", "")
        )
    text = _rule_text(protocol, reason)
    if reason.protocol:
        return f"{protocol_name(reason.protocol)}: {text}"
    return text


def _rule_text(protocol: Protocol, reason: Reason) -> str:
    rule = next((r for r in protocol.rules if r.id == reason.rule_id), None)
    if rule is not None and reason.text.startswith(rule.text):
        return protocol_text(rule.text) + reason.text[len(rule.text) :]
    score = protocol.score
    if score is not None and reason.rule_id == score.id and reason.text.startswith(score.name):
        return protocol_text(score.name) + reason.text[len(score.name) :]
    # The lowest level's reason lists what did not fire ("no emergency sign, TEWS 1 (0-2), ...").
    return ", ".join(protocol_text(part) for part in reason.text.split(", "))


# The engine's warnings are English sentences (the protocol package cannot use gettext). The ones
# a nurse meets are recognised here and said again in the nurse's language; any other warning is
# shown as the engine wrote it.
_CATEGORY_NAMES = {c.name: c for c in Category}
_FIELDS_BY_NAME = {name: field for field, name in FIELD_NAMES.items()}
_WARNINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"^Unconfirmed proposal '(?P<id>[^']+)' \((?P<label>.*)\) would raise the "
            r"category to (?P<cat>[A-Z]+): confirm or reject\.$"
        ),
        N_(
            "Unconfirmed proposal: {label} would raise the category to {colour}. Confirm or "
            "reject it."
        ),
    ),
    (
        re.compile(
            r"^'(?P<id>[^']+)' \((?P<label>.*)\) is not known: if present it would raise "
            r"the category to (?P<cat>[A-Z]+)\.$"
        ),
        N_("{label} is not known: if present, the category would rise to {colour}."),
    ),
    (
        re.compile(r"^(?P<field>.+) not measured: could raise the category to (?P<cat>[A-Z]+)\.$"),
        N_("{field} not measured: it could raise the category to {colour}."),
    ),
    (
        re.compile(r"^(?P<field>.+) not recorded: could raise the category to (?P<cat>[A-Z]+)\.$"),
        N_("{field} not recorded: it could raise the category to {colour}."),
    ),
)


def warning_text(protocol: Protocol, warning: str) -> str:
    """An engine warning in the nurse's language (unchanged when it is not one we know)."""
    for pattern, message in _WARNINGS:
        match = pattern.match(warning)
        if match is None or match["cat"] not in _CATEGORY_NAMES:
            continue
        parts = match.groupdict()
        label = ""
        if "id" in parts and parts["id"] in protocol.findings:
            label = protocol_text(protocol.findings[parts["id"]].label)
        field = parts.get("field", "")
        if field:
            known = _FIELDS_BY_NAME.get(field)
            if known is None:
                # "pregnancy and age not recorded", "patient details not recorded"
                field = " + ".join(_(_PATIENT_FACTS.get(w, w)) for w in field.split(" and "))
            else:
                field = vital_name(known) if known in _VITAL_NAMES else _(_PATIENT_FACTS[known])
        colour = colour_name(_CATEGORY_NAMES[match["cat"]])
        return _(message).format(label=label, field=field, colour=colour)
    return warning


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
