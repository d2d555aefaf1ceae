"""``edgemed assess``: triage one case from JSON or flags; the decision comes out as JSON."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from edgemed.errors import InputError
from edgemed.i18n import _
from edgemed.protocol import AVPU, Category, Concern, Decision, Finding, Mobility, ProtocolError
from edgemed.protocol.case import Case, parse_case
from edgemed.protocol.definition import FIELD_NAMES
from edgemed.service.wording import routing_text

HELP = _(
    """Triage one case with the deterministic protocol and print the decision as JSON.

\b
The case comes from CASE (a JSON file, or - for standard input), from flags, or both
(flags win). Its shape, every part optional:
  {"patient":  {"age_years": 34, "age_months": null, "sex": "female",
                "pregnant": true, "weight_kg": 60, "height_cm": 160, "trauma": false},
   "vitals":   {"rr": 24, "hr": 118, "sbp": 92, "dbp": 60, "temp_c": 38.9,
                "spo2": 95, "avpu": "A", "mobility": "walking",
                "cap_refill_s": 2, "glucose_mmol": 5.4},
   "findings": ["chest_pain", {"id": "stridor", "presence": "absent",
                               "reporter": "nurse"}],
   "protocol": "sats-adult",
   "unmeasurable": {"spo2": "no oximeter"},
   "concern": {"category": "orange", "reason": "looks grey and sweaty"}}
avpu is A, C, V, P or U; mobility is walking, with_help or immobile; presence is
present, absent or unknown; reporter is nurse or proposal (a proposal never counts
until confirmed). Without a protocol, age chooses one (edgemed protocol list).
Adults are also checked against the protocols the safety net consults (IITT); the
category is the most urgent. A decision missing the measurements it needs is
"incomplete" and at least YELLOW (a child: PRIORITY) until they are measured or
marked could-not-be-measured with a reason (unmeasurable). A clinical concern
raises the category, never lowers it.

\b
Exit codes: 0 decided; 2 the case is wrong (bad JSON, unknown field or finding,
impossible vital), with a message naming what."""
)

# flag name -> (part of the case, key)
_NUMBER_FLAGS: dict[str, tuple[str, str]] = {
    "age": ("patient", "age_years"),
    "weight": ("patient", "weight_kg"),
    "height": ("patient", "height_cm"),
    "rr": ("vitals", "rr"),
    "hr": ("vitals", "hr"),
    "sbp": ("vitals", "sbp"),
    "dbp": ("vitals", "dbp"),
    "temp": ("vitals", "temp_c"),
    "spo2": ("vitals", "spo2"),
    "cap_refill": ("vitals", "cap_refill_s"),
    "glucose": ("vitals", "glucose_mmol"),
}


def _read_case(source: str | None) -> Case:
    if source is None:
        return Case()
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if path.is_dir():
            raise InputError(
                _("{path} is a directory, not a case file").format(path=source),
                hint=_("Give a JSON file, or - to read the case from standard input."),
            )
        if not path.is_file():
            raise InputError(
                _("case file not found: {path}").format(path=source),
                hint=_("Give a JSON file, or - to read the case from standard input."),
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(
                _("cannot read {path}: {error}").format(path=source, error=error)
            ) from None
    return parse_case(text)


def _apply_flags(case: Case, flags: dict[str, Any]) -> Case:
    patient = case.patient.to_dict()
    vitals = case.vitals.to_dict()
    parts = {"patient": patient, "vitals": vitals}
    for flag, (part, key) in _NUMBER_FLAGS.items():
        if flags[flag] is not None:
            parts[part][key] = flags[flag]
    for key in ("age_months", "sex", "pregnant", "trauma"):
        if flags[key] is not None:
            patient[key] = flags[key]
    for key in ("avpu", "mobility"):
        if flags[key] is not None:
            vitals[key] = flags[key]
    findings = [*case.findings, *(Finding.from_dict(f) for f in flags["finding"])]
    unmeasurable = dict(case.unmeasurable)
    for item in flags["unmeasurable"]:
        field, sep, reason = item.partition("=")
        if not sep:
            raise InputError(
                _(
                    "--unmeasurable takes FIELD=REASON, e.g. spo2='no oximeter'; got {item!r}"
                ).format(item=item[:60])
            )
        unmeasurable[field.strip()] = reason
    concern = case.concern
    if flags["concern"] is not None:
        concern = Concern.from_dict(
            {"category": flags["concern"], "reason": flags["concern_reason"] or ""}
        )
    return replace(
        Case.from_dict({"patient": patient, "vitals": vitals}),
        findings=tuple(findings),
        protocol=flags["protocol"] or case.protocol,
        unmeasurable=unmeasurable,
        concern=concern,
    )


def explain(decision: Decision) -> str:
    """The decision as a readable table for a nurse or a reviewer."""
    target = (
        _("immediately")
        if decision.target_minutes == 0
        else _("within {minutes} minutes").format(minutes=decision.target_minutes)
    )
    lines = []
    if decision.incomplete:
        lines.append(
            _("INCOMPLETE: at least {colour} until measured: {items}").format(
                colour=decision.category.name,
                items=", ".join(FIELD_NAMES.get(f, f) for f in decision.missing),
            )
        )
    lines += [
        _("Category: {colour} ({label}, protocol level: {word})").format(
            colour=decision.category.name,
            label=_(decision.category.label),
            word=decision.protocol_level,
        ),
        _("Target time to treatment: {target}").format(target=target),
        _("Protocol: {id} version {version}, sha256 {sha}").format(
            id=decision.protocol_id,
            version=decision.protocol_version,
            sha=decision.protocol_sha256[:16],
        ),
    ]
    for consulted in decision.consulted[1:]:
        lines.append(
            _("Safety net: {id} version {version}, sha256 {sha}: reached {colour}").format(
                id=consulted.id,
                version=consulted.version,
                sha=consulted.sha256[:16],
                colour=consulted.category.name,
            )
        )
    for field, why in decision.unmeasurable.items():
        lines.append(
            _("Could not be measured: {field} ({why})").format(
                field=FIELD_NAMES.get(field, field), why=why
            )
        )
    if decision.concern is not None:
        lines.append(
            _("Clinical concern: {colour}, {reason}").format(
                colour=decision.concern.category.name, reason=decision.concern.reason
            )
        )
    if decision.routing_note is not None:
        lines.append(_("Routing: {note}").format(note=routing_text(decision.routing_note)))
    lines.append("")
    header = (_("level"), _("rule"), _("why"), _("source"), _("verified"))
    rows = [
        (
            r.category.name,
            r.rule_id,
            r.text,
            r.source,
            _("yes") if r.verified else _("NO"),
        )
        for r in decision.reasons
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    if decision.warnings:
        lines.append("")
        lines.append(_("Warnings:"))
        lines += [f"  - {w.text}" for w in decision.warnings]
    return "\n".join(line.rstrip() for line in lines)


@click.command(help=HELP)
@click.argument("case_source", metavar="[CASE.json | -]", required=False)
@click.option("--protocol", help=_("Force a protocol id instead of choosing by age."))
@click.option("--age", type=float, help=_("Age in years."))
@click.option("--age-months", type=int, help=_("Age in months (children)."))
@click.option("--sex", type=click.Choice(["female", "male", "unknown"]))
@click.option("--pregnant/--not-pregnant", default=None, help=_("Pregnancy status."))
@click.option("--trauma/--no-trauma", default=None, help=_("Is this an injury?"))
@click.option("--weight", type=float, help=_("Weight in kg."))
@click.option("--height", type=float, help=_("Height in cm."))
@click.option("--rr", type=float, help=_("Respiratory rate, breaths/min."))
@click.option("--hr", type=float, help=_("Heart rate, beats/min."))
@click.option("--sbp", type=float, help=_("Systolic blood pressure, mmHg."))
@click.option("--dbp", type=float, help=_("Diastolic blood pressure, mmHg."))
@click.option("--temp", type=float, help=_("Temperature, degrees Celsius."))
@click.option("--spo2", type=float, help=_("Oxygen saturation, %."))
@click.option("--avpu", type=click.Choice([a.value for a in AVPU], case_sensitive=False))
@click.option("--mobility", type=click.Choice([m.value for m in Mobility]))
@click.option("--cap-refill", type=float, help=_("Capillary refill time, seconds."))
@click.option("--glucose", type=float, help=_("Blood glucose, mmol/L."))
@click.option(
    "--finding", multiple=True, metavar="ID", help=_("A finding the nurse confirmed (repeat).")
)
@click.option(
    "--unmeasurable",
    multiple=True,
    metavar="FIELD=REASON",
    help=_("A measurement that could not be taken, and why (repeat), e.g. spo2='no oximeter'."),
)
@click.option(
    "--concern",
    type=click.Choice([c.value for c in Category]),
    help=_("Clinical concern: raise the category to this level (never lowers it)."),
)
@click.option("--concern-reason", metavar="TEXT", help=_("Why you are concerned (required)."))
@click.option("--explain", "show_explanation", is_flag=True, help=_("Print a readable table."))
def assess(case_source: str | None, show_explanation: bool, **flags: Any) -> None:
    try:
        case = _apply_flags(_read_case(case_source), flags)
        decision = case.assess()
    except ProtocolError as error:
        raise InputError(error.message) from None
    if show_explanation:
        click.echo(explain(decision))
    else:
        click.echo(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
