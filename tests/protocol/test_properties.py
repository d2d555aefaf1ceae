"""Safety properties of the engine, checked on generated patients (hypothesis).

- making any vital worse, or adding any confirmed finding, never lowers the category;
- the same input always gives the same decision;
- every decision has at least one reason, each with a declared source;
- unknown values (not measured, not asked, unconfirmed proposals) never lower the category,
  and when measuring or confirming would raise it, a warning says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgemed.protocol import (
    AVPU,
    Category,
    Decision,
    Finding,
    Mobility,
    Patient,
    Presence,
    Reporter,
    Vitals,
    WarningCode,
    assess,
    load_protocol,
)
from edgemed.protocol.definition import NUMERIC_FIELDS
from edgemed.protocol.engine import FLOOR_RULE
from edgemed.protocol.escalation import System
from edgemed.protocol.net import consulted_protocols, load_net, relevant
from edgemed.protocol.rules import Facts, category_of, fired, reach
from edgemed.protocol.vital_limits import LIMITS, PREGNANCY_AGES, pregnancy_possible

PROTOCOLS = ("sats-adult", "iitt-adult", "etat-child")
POSSIBLE = {limit.field: limit.possible for limit in LIMITS}
# A healthy reference value for each measurement; "worse" means further away from it.
NORMAL: dict[str, float] = {
    "rr": 14,
    "hr": 75,
    "sbp": 120,
    "dbp": 75,
    "temp_c": 37.0,
    "spo2": 98,
    "cap_refill_s": 1,
    "glucose_mmol": 5.5,
}
DECIMALS = {"temp_c": 1, "glucose_mmol": 1, "cap_refill_s": 1}
# AVPU is a partial order: "confused" and "voice" are both worse than alert and better than
# pain, but not ordered against each other (SATS's TEWS scores C 2 and V 1; see sats-adult.toml).
WORSE_AVPU = {
    AVPU.ALERT: [AVPU.CONFUSED, AVPU.VOICE, AVPU.PAIN, AVPU.UNRESPONSIVE],
    AVPU.CONFUSED: [AVPU.PAIN, AVPU.UNRESPONSIVE],
    AVPU.VOICE: [AVPU.PAIN, AVPU.UNRESPONSIVE],
    AVPU.PAIN: [AVPU.UNRESPONSIVE],
    AVPU.UNRESPONSIVE: [],
}
WORSE_MOBILITY = {
    Mobility.WALKING: [Mobility.WITH_HELP, Mobility.IMMOBILE],
    Mobility.WITH_HELP: [Mobility.IMMOBILE],
    Mobility.IMMOBILE: [],
}
SETTINGS = settings(max_examples=120, deadline=None)


def _value(field: str) -> st.SearchStrategy[float]:
    low, high = POSSIBLE[field]
    places = DECIMALS.get(field, 0)
    return st.integers(int(low * 10**places), int(high * 10**places)).map(
        lambda v: v / 10**places if places else float(v)
    )


@st.composite
def vitals(draw: st.DrawFn) -> Vitals:
    values: dict[str, Any] = {f: draw(st.none() | _value(f)) for f in NUMERIC_FIELDS}
    values["avpu"] = draw(st.none() | st.sampled_from(AVPU))
    values["mobility"] = draw(st.none() | st.sampled_from(Mobility))
    return Vitals(**values)


@st.composite
def patients(draw: st.DrawFn, protocol_id: str) -> Patient:
    sex = draw(st.sampled_from(["female", "male", "unknown"]))
    pregnant = None if sex == "male" else draw(st.sampled_from([None, False, True]))
    trauma = draw(st.sampled_from([None, False, True]))
    if protocol_id == "etat-child":
        return Patient(age_months=draw(st.integers(0, 143)), sex=sex, trauma=trauma)
    age = draw(st.integers(12, 100))
    if age >= PREGNANCY_AGES[1]:
        pregnant = None if pregnant is None else False
    return Patient(age_years=age, sex=sex, pregnant=pregnant, trauma=trauma)


@st.composite
def findings(draw: st.DrawFn, protocol_id: str) -> list[Finding]:
    ids = sorted(load_protocol(protocol_id).findings)
    chosen = draw(st.lists(st.sampled_from(ids), max_size=4, unique=True))
    return [
        Finding(
            fid,
            draw(st.sampled_from(Presence)),
            draw(st.sampled_from(Reporter)),
        )
        for fid in chosen
    ]


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, Patient, Vitals, list[Finding]]:
    protocol_id = draw(st.sampled_from(PROTOCOLS))
    return protocol_id, draw(patients(protocol_id)), draw(vitals()), draw(findings(protocol_id))


def _not_lower(after: Decision, before: Decision) -> bool:
    return after.category.urgency <= before.category.urgency


def _worse(vitals_: Vitals, field: str, step: float, draw: st.DrawFn) -> Vitals | None:
    value = vitals_.get(field)
    if value is None:
        return None
    if field == "avpu":
        assert isinstance(value, AVPU)
        options = WORSE_AVPU[value]
        if not options:
            return None
        return dataclasses.replace(vitals_, avpu=draw(st.sampled_from(options)))
    if field == "mobility":
        assert isinstance(value, Mobility)
        options_m = WORSE_MOBILITY[value]
        if not options_m:
            return None
        return dataclasses.replace(vitals_, mobility=draw(st.sampled_from(options_m)))
    assert isinstance(value, float)
    low, high = POSSIBLE[field]
    direction = 1.0 if value >= NORMAL[field] else -1.0
    if value == NORMAL[field]:
        direction = draw(st.sampled_from([1.0, -1.0]))
    worse = min(high, max(low, round(value + direction * step, DECIMALS.get(field, 0))))
    return dataclasses.replace(vitals_, **{field: worse})


@SETTINGS
@given(cases(), st.data())
def test_a_worse_vital_never_lowers_the_category(
    case: tuple[str, Patient, Vitals, list[Finding]], data: st.DataObject
) -> None:
    protocol_id, patient, vitals_, findings_ = case
    field = data.draw(st.sampled_from([*NUMERIC_FIELDS, "avpu", "mobility"]))
    step = data.draw(st.floats(0.1, 80))
    worse = _worse(vitals_, field, step, data.draw)
    if worse is None:
        return
    before = assess(patient, vitals_, findings_, protocol_id)
    after = assess(patient, worse, findings_, protocol_id)
    assert _not_lower(after, before), (field, vitals_.get(field), worse.get(field))


def _probe_values(field: str) -> list[float]:
    """Every cut-off any protocol uses for ``field``, a hair either side, and the extremes."""
    low, high = POSSIBLE[field]
    hair = 0.1 if field in DECIMALS else 1.0
    values = {low, high, NORMAL[field]}
    for protocol_id in PROTOCOLS:
        protocol = load_protocol(protocol_id)
        thresholds = [r.vital for r in protocol.rules if r.vital is not None]
        if protocol.score is not None:
            thresholds += [c.threshold for p in protocol.score.parameters for c in p.cells]
        for t in thresholds:
            if t.field == field:
                for edge in (t.gt, t.ge, t.lt, t.le):
                    if edge is not None:
                        values |= {edge - hair, edge, edge + hair}
    return sorted(v for v in values if low <= v <= high)


def _score_total(decision: Decision) -> int:
    """The primary protocol's TEWS (a consulted protocol's reasons are not the primary's)."""
    totals = [r.inputs["tews"] for r in decision.reasons if "tews" in r.inputs and not r.protocol]
    return int(totals[0]) if totals else 0  # type: ignore[call-overload]


@pytest.mark.parametrize("protocol_id", PROTOCOLS)
@pytest.mark.parametrize("field", NUMERIC_FIELDS)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_sweeping_a_vital_away_from_normal_never_lowers_category_or_score(
    protocol_id: str, field: str, data: st.DataObject
) -> None:
    """Walk the value from normal to each extreme through every cut-off: the category and the
    TEWS may only rise."""
    patient = data.draw(patients(protocol_id))
    vitals_ = data.draw(vitals())
    findings_ = data.draw(findings(protocol_id))
    probes = _probe_values(field)
    upward = [v for v in probes if v >= NORMAL[field]]
    downward = [v for v in reversed(probes) if v <= NORMAL[field]]
    for path in (upward, downward):
        previous: Decision | None = None
        for value in path:
            decision = assess(
                patient, dataclasses.replace(vitals_, **{field: value}), findings_, protocol_id
            )
            if previous is not None:
                assert _not_lower(decision, previous), (field, value)
                assert _score_total(decision) >= _score_total(previous), (field, value)
            previous = decision


@SETTINGS
@given(cases(), st.data())
def test_trauma_never_lowers_the_category(
    case: tuple[str, Patient, Vitals, list[Finding]], data: st.DataObject
) -> None:
    protocol_id, patient, vitals_, findings_ = case
    without = assess(dataclasses.replace(patient, trauma=False), vitals_, findings_, protocol_id)
    with_trauma = assess(dataclasses.replace(patient, trauma=True), vitals_, findings_, protocol_id)
    assert _not_lower(with_trauma, without)


@SETTINGS
@given(cases(), st.data())
def test_an_added_present_finding_never_lowers_the_category(
    case: tuple[str, Patient, Vitals, list[Finding]], data: st.DataObject
) -> None:
    protocol_id, patient, vitals_, findings_ = case
    new_id = data.draw(st.sampled_from(sorted(load_protocol(protocol_id).findings)))
    before = assess(patient, vitals_, findings_, protocol_id)
    after = assess(patient, vitals_, [*findings_, Finding(new_id)], protocol_id)
    assert _not_lower(after, before)
    definition = load_protocol(protocol_id).findings[new_id]
    # A sign that decides alone reaches at least its level; one that needs company (a
    # combination, a pregnancy) may not fire by itself.
    if definition.rule_id == new_id:
        assert after.category.urgency <= definition.category.urgency


@SETTINGS
@given(cases())
def test_the_same_input_gives_the_same_decision(
    case: tuple[str, Patient, Vitals, list[Finding]],
) -> None:
    protocol_id, patient, vitals_, findings_ = case
    first = assess(patient, vitals_, findings_, protocol_id)
    second = assess(patient, vitals_, list(findings_), protocol_id)
    assert first == second
    assert Decision.from_dict(first.to_dict()) == first


@SETTINGS
@given(cases())
def test_every_decision_has_a_sourced_reason_at_its_category(
    case: tuple[str, Patient, Vitals, list[Finding]],
) -> None:
    protocol_id, patient, vitals_, findings_ = case
    decision = assess(patient, vitals_, findings_, protocol_id)
    assert decision.reasons
    assert any(r.category is decision.category for r in decision.reasons)
    for reason in decision.reasons:
        if reason.rule_id == FLOOR_RULE:
            assert reason.source in load_net().sources
        else:
            assert reason.source in load_protocol(reason.protocol or protocol_id).sources
        assert reason.text


@SETTINGS
@given(cases(), st.data())
def test_a_missing_measurement_never_lowers_and_is_warned_about(
    case: tuple[str, Patient, Vitals, list[Finding]], data: st.DataObject
) -> None:
    protocol_id, patient, vitals_, findings_ = case
    field = data.draw(st.sampled_from(NUMERIC_FIELDS))
    missing = dataclasses.replace(vitals_, **{field: None})
    normal = dataclasses.replace(vitals_, **{field: NORMAL[field]})
    measured = dataclasses.replace(vitals_, **{field: data.draw(_value(field))})
    unknown = assess(patient, missing, findings_, protocol_id)

    assert _not_lower(unknown, assess(patient, normal, findings_, protocol_id))
    if assess(patient, measured, findings_, protocol_id).category.urgency < (
        unknown.category.urgency
    ):
        confirmed = frozenset(f.id for f in findings_ if f.counts)
        if not relevant(field, patient, missing, confirmed):
            return  # warning fatigue: e.g. glucose only with a seizure or reduced consciousness
        # Named either as an input the decision still needs, or in a warning.
        named = (
            (w.code is WarningCode.MISSING_INPUT and w.field == field)
            or (w.code is WarningCode.NOT_RECORDED and field in w.fields)
            for w in unknown.warnings
        )
        assert field in unknown.missing or any(named), unknown.warnings


@SETTINGS
@given(cases(), st.data())
def test_unknown_and_proposed_findings_count_as_absent_and_are_warned_about(
    case: tuple[str, Patient, Vitals, list[Finding]], data: st.DataObject
) -> None:
    protocol_id, patient, vitals_, findings_ = case
    new_id = data.draw(st.sampled_from(sorted(load_protocol(protocol_id).findings)))
    if any(f.id == new_id for f in findings_):
        return
    kind = data.draw(
        st.sampled_from(
            [
                Finding(new_id, Presence.PRESENT, Reporter.PROPOSAL),
                Finding(new_id, Presence.UNKNOWN, Reporter.NURSE),
            ]
        )
    )
    absent = assess(patient, vitals_, [*findings_, Finding(new_id, Presence.ABSENT)], protocol_id)
    unconfirmed = assess(patient, vitals_, [*findings_, kind], protocol_id)
    confirmed = assess(patient, vitals_, [*findings_, Finding(new_id)], protocol_id)

    assert unconfirmed.category is absent.category
    if confirmed.category.is_more_urgent_than(unconfirmed.category):
        assert any(w.finding == new_id for w in unconfirmed.warnings), unconfirmed.warnings


@SETTINGS
@given(cases())
def test_unknown_pregnancy_never_lowers_the_category(
    case: tuple[str, Patient, Vitals, list[Finding]],
) -> None:
    protocol_id, patient, vitals_, findings_ = case
    if not pregnancy_possible(dataclasses.replace(patient, pregnant=None)):
        return
    unknown = assess(dataclasses.replace(patient, pregnant=None), vitals_, findings_, protocol_id)
    for pregnant in (False, True):
        known = assess(
            dataclasses.replace(patient, pregnant=pregnant), vitals_, findings_, protocol_id
        )
        assert _not_lower(unknown, known) or any(
            w.code is WarningCode.NOT_RECORDED and "pregnancy" in w.fields for w in unknown.warnings
        )
        if pregnant is False:
            assert _not_lower(unknown, known)


def test_category_order_is_the_urgency_order() -> None:
    assert [c.urgency for c in Category] == [0, 1, 2, 3]


@SETTINGS
@given(cases())
def test_the_fast_path_agrees_with_the_reasons(
    case: tuple[str, Patient, Vitals, list[Finding]],
) -> None:
    """The warnings ask "what if" through ``reach``; it must match the decision's own path."""
    protocol_id, patient, vitals_, findings_ = case
    protocol = load_protocol(protocol_id)
    facts = Facts(patient, vitals_, frozenset(f.id for f in findings_ if f.counts))
    assert reach(protocol, facts) is category_of(protocol, fired(protocol, facts))
    alone = assess(patient, vitals_, findings_, protocol_id, net=False)
    assert alone.category is reach(protocol, facts)
    # With the net: each consulted protocol's fast path agrees with the level it reached.
    decision = assess(patient, vitals_, findings_, protocol_id)
    system = System(protocol, consulted_protocols(protocol, patient))
    for consulted, view in zip(decision.consulted, system.protocols, strict=True):
        assert consulted.category is reach(view, facts)
        assert consulted.category is category_of(view, fired(view, facts))
