"""The safety net across protocols, the floor for decisions without data, clinical concern,
routing and validation: the stories of the clinical-coverage issue, then their properties."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgemed.protocol import (
    AVPU,
    Category,
    Concern,
    Decision,
    Finding,
    InvalidCase,
    Mobility,
    Patient,
    Vitals,
    WarningCode,
    assess,
    load_protocol,
    route,
    triage_view,
)
from edgemed.protocol.case import parse_case
from edgemed.protocol.engine import CONCERN_RULE, FLOOR_RULE
from edgemed.protocol.errors import InvalidProtocolFile
from edgemed.protocol.net import load_net, load_net_file, net_path

ADULT = Patient(age_years=30, sex="male", trauma=False)
WOMAN = Patient(age_years=28, sex="female", trauma=False)
FULL = Vitals(rr=16, hr=80, sbp=125, dbp=80, temp_c=36.8, spo2=98, avpu=AVPU.ALERT)
TEWS_INPUTS = dataclasses.replace(FULL, mobility=Mobility.WALKING)
CHILD = Patient(age_years=6, sex="male")
CHILD_VITALS = Vitals(rr=22, hr=100, temp_c=37.0, avpu=AVPU.ALERT)


def _cat(decision: Decision) -> Category:
    return decision.category


# ---- the net: stories from the issue ------------------------------------------------------------


def test_an_adult_is_checked_against_iitt_and_the_net_raises_with_its_reason() -> None:
    decision = assess(ADULT, TEWS_INPUTS, [Finding("snake_bite")])
    assert decision.category is Category.ORANGE  # IITT red -> at least SATS orange
    net = [r for r in decision.reasons if r.protocol == "iitt-adult"]
    assert net and net[0].rule_id == "iitt-adult/snake_bite"
    assert [c.id for c in decision.consulted] == ["sats-adult", "iitt-adult"]
    assert decision.consulted[0].role == "primary" and decision.consulted[1].role == "net"
    assert decision.consulted[1].sha256 == load_protocol("iitt-adult").sha256
    assert decision.net_sha256 == load_net().sha256
    # SATS alone does not know the sign: without the net it could not even be entered.
    assert "snake_bite" not in load_protocol("sats-adult").findings


@pytest.mark.parametrize(
    ("patient", "vitals", "findings", "least"),
    [
        # meningism: fever, stiff neck (IITT any two of) -> at least orange
        (ADULT, TEWS_INPUTS, ["fever", "stiff_neck", "headache"], Category.ORANGE),
        (ADULT, TEWS_INPUTS, ["trismus"], Category.ORANGE),  # tetanus
        (ADULT, dataclasses.replace(TEWS_INPUTS, sbp=84), ["anaphylaxis"], Category.RED),
        # eclampsia after the fit
        (
            dataclasses.replace(WOMAN, pregnant=True),
            TEWS_INPUTS,
            ["post_ictal"],
            Category.RED,
        ),
        # severe pre-eclampsia, 34 weeks: BP 168/114, headache, visual change
        (
            dataclasses.replace(WOMAN, pregnant=True),
            dataclasses.replace(TEWS_INPUTS, sbp=168, dbp=114),
            ["headache", "visual_disturbance"],
            Category.RED,
        ),
        (
            Patient(age_years=64, sex="male", trauma=False),
            TEWS_INPUTS,
            ["abdominal_pain", "cold_clammy_skin"],
            Category.ORANGE,
        ),
        (ADULT, TEWS_INPUTS, ["fever", "headache", "purpura"], Category.RED),
        (ADULT, TEWS_INPUTS, ["abdominal_trauma"], Category.ORANGE),  # stabbed, normal vitals
        (ADULT, TEWS_INPUTS, ["testicular_pain"], Category.YELLOW),
        (ADULT, TEWS_INPUTS, ["cardiac_arrest"], Category.RED),
        (ADULT, TEWS_INPUTS, ["high_energy_transfer"], Category.ORANGE),
        (ADULT, TEWS_INPUTS, ["burn_over_20_percent"], Category.ORANGE),
        # a child: purpura, cold hands + weak fast pulse without cap refill, SpO2 86%
        (CHILD, CHILD_VITALS, ["purpura"], Category.RED),
        (CHILD, CHILD_VITALS, ["cold_hands", "weak_fast_pulse"], Category.RED),
        (CHILD, dataclasses.replace(CHILD_VITALS, spo2=86), [], Category.RED),
        (Patient(age_years=10, sex="male"), CHILD_VITALS, ["testicular_pain"], Category.ORANGE),
    ],
)
def test_the_issue_s_emergencies_no_longer_leave_as_green(
    patient: Patient, vitals: Vitals, findings: list[str], least: Category
) -> None:
    decision = assess(patient, vitals, [Finding(f) for f in findings])
    assert not least.is_more_urgent_than(decision.category), decision.to_dict()


def test_a_trivial_injury_does_not_raise_a_child_and_rr_hr_zero_are_red() -> None:
    nine = Vitals(rr=18, hr=90, temp_c=36.9, avpu=AVPU.ALERT)
    graze = assess(dataclasses.replace(CHILD, age_years=9, trauma=True), nine, [])
    assert graze.category is Category.GREEN
    assert assess(ADULT, dataclasses.replace(TEWS_INPUTS, rr=0), []).category is Category.RED
    zero_hr = assess(ADULT, dataclasses.replace(TEWS_INPUTS, hr=0), [])
    assert zero_hr.category is Category.RED
    assert not any(w.code is WarningCode.IMPLAUSIBLE_VITAL for w in zero_hr.warnings)


def test_the_net_consults_only_protocols_for_the_patient_s_age() -> None:
    child = assess(CHILD, CHILD_VITALS, [])
    assert [c.id for c in child.consulted] == ["etat-child"]


def test_the_view_asks_the_net_s_signs_at_their_mapped_level() -> None:
    view = triage_view("sats-adult")
    assert view.findings["snake_bite"].category is Category.ORANGE
    assert view.findings["anaphylaxis"].category is Category.RED
    assert (
        view.findings["chest_pain"].label
        == load_protocol("sats-adult").findings["chest_pain"].label
    )
    assert load_protocol("sats-adult").findings.get("snake_bite") is None


def test_an_unknown_finding_is_refused_and_a_long_id_is_not_echoed_whole() -> None:
    with pytest.raises(Exception, match="unknown finding") as error:
        assess(ADULT, FULL, [Finding("x" * 5000)])
    assert len(str(error.value)) < 400


def test_the_net_file_is_strict(tmp_path: Path) -> None:
    text = net_path().read_text()
    bad = tmp_path / "safety-net.toml"
    bad.write_text(text.replace('"stridor", ', '"stridorr", ', 1))
    with pytest.raises(InvalidProtocolFile, match="red_rules: no rule stridorr"):
        load_net_file(bad)
    bad.write_text(text.replace('levels = { red = "orange", ', 'levels = { red = "green", ', 1))
    with pytest.raises(InvalidProtocolFile, match="mapped too low"):
        load_net_file(bad)
    bad.write_text(text.replace("verified = false", "verified = 1", 1))
    with pytest.raises(InvalidProtocolFile, match="verified"):
        load_net_file(bad)


# ---- the floor: no verdict without data ---------------------------------------------------------


def test_an_adult_with_no_vitals_is_at_least_yellow_and_incomplete() -> None:
    decision = assess(ADULT, Vitals(), [])
    assert decision.category is Category.YELLOW
    assert decision.incomplete
    assert {"rr", "hr", "sbp", "avpu", "mobility"} <= set(decision.missing)
    assert any(r.rule_id == FLOOR_RULE for r in decision.reasons)
    # Measured and normal: GREEN, complete.
    done = assess(ADULT, TEWS_INPUTS, [])
    assert done.category is Category.GREEN and not done.incomplete and done.missing == ()


def test_a_61_year_old_who_fainted_without_vitals_is_not_green() -> None:
    decision = assess(Patient(age_years=61, sex="female"), Vitals(), [Finding("fainting_recent")])
    assert decision.category.is_more_urgent_than(Category.GREEN)
    assert decision.incomplete


def test_could_not_be_measured_finishes_the_decision_but_never_lowers_it() -> None:
    partial = dataclasses.replace(TEWS_INPUTS, temp_c=None)
    unfinished = assess(ADULT, partial, [])
    assert unfinished.incomplete and "temp_c" in unfinished.missing
    finished = assess(ADULT, partial, [], unmeasurable={"temp_c": "no thermometer"})
    assert not finished.incomplete
    assert finished.unmeasurable == {"temp_c": "no thermometer"}
    assert not unfinished.category.is_more_urgent_than(finished.category)
    with pytest.raises(InvalidCase, match="was measured"):
        assess(ADULT, TEWS_INPUTS, [], unmeasurable={"temp_c": "broken"})
    with pytest.raises(InvalidCase, match="say why"):
        assess(ADULT, partial, [], unmeasurable={"temp_c": " "})


def test_a_child_whose_breathing_was_not_counted_is_priority_until_it_is() -> None:
    decision = assess(CHILD, Vitals(temp_c=37.0), [])
    assert decision.category is Category.ORANGE and decision.incomplete
    assert assess(CHILD, CHILD_VITALS, []).category is Category.GREEN


def test_glucose_is_warned_about_only_where_it_matters() -> None:
    plain = assess(ADULT, TEWS_INPUTS, [])
    assert not any(w.field == "glucose_mmol" for w in plain.warnings)
    fitting = assess(ADULT, TEWS_INPUTS, [Finding("post_ictal")])
    glucose = WarningCode.MISSING_INPUT, "glucose_mmol"
    assert any((w.code, w.field) == glucose for w in fitting.warnings)


# ---- clinical concern ---------------------------------------------------------------------------


def test_clinical_concern_raises_is_recorded_and_never_lowers() -> None:
    concern = Concern(Category.ORANGE, "looks grey and sweaty")
    raised = assess(ADULT, TEWS_INPUTS, [], concern=concern)
    assert raised.category is Category.ORANGE and raised.concern == concern
    assert any(r.rule_id == CONCERN_RULE for r in raised.reasons)
    assert Decision.from_dict(raised.to_dict()) == raised
    lower = assess(ADULT, TEWS_INPUTS, [Finding("seizure_current")], concern=concern)
    assert lower.category is Category.RED and lower.concern == concern


# ---- routing and validation ---------------------------------------------------------------------


def test_unknown_age_is_routed_by_height() -> None:
    assert route(Patient(height_cm=85))[0] == "etat-child"
    assert route(Patient(height_cm=120))[0] == "etat-child"
    assert route(Patient(height_cm=165))[0] == "sats-adult"
    assert assess(Patient(height_cm=85), CHILD_VITALS, []).protocol_id == "etat-child"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"patient": {"age_years": 40, "age_months": 6}}, "disagree"),
        ({"patient": {"age_years": 2, "sex": "female", "pregnant": True}}, "pregnan"),
        ({"patient": {"age_years": 30, "sex": "male", "pregnant": True}}, "male"),
        ({"vitals": {"hr": 10**40}}, "not a measurement"),
        ({"concern": {"category": "orange"}}, "reason"),
        ({"unmeasurable": {"pulse": "x"}}, "not a measurement"),
    ],
)
def test_bad_cases_are_refused_with_a_clear_message(case: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidCase, match=message):
        parse_case(json.dumps(case)).assess()


def test_huge_numbers_and_deep_json_are_refused_not_crashed() -> None:
    with pytest.raises(InvalidCase, match="number"):
        parse_case('{"vitals": {"hr": ' + "9" * 5000 + "}}")
    with pytest.raises(InvalidCase, match="nests"):
        parse_case("[" * 100_000 + "]" * 100_000)


def test_a_duplicate_key_is_refused_not_read_as_its_last_value() -> None:
    with pytest.raises(InvalidCase, match="'age_years' twice"):
        parse_case('{"patient": {"age_years": 30, "age_years": 1}}')


def test_agreeing_years_and_months_are_accepted() -> None:
    assert assess(Patient(age_years=1, age_months=18), CHILD_VITALS, []).protocol_id == (
        "etat-child"
    )


# ---- properties ---------------------------------------------------------------------------------

NET_SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def adult_cases(draw: st.DrawFn) -> tuple[Patient, Vitals, list[Finding]]:
    age = draw(st.integers(12, 95))
    sex = draw(st.sampled_from(["female", "male"]))
    pregnant = draw(st.sampled_from([None, False, True])) if sex == "female" and age < 55 else None
    patient = Patient(age_years=age, sex=sex, pregnant=pregnant, trauma=draw(st.booleans()))
    values = {
        "rr": draw(st.none() | st.integers(0, 60)),
        "hr": draw(st.none() | st.integers(0, 220)),
        "sbp": draw(st.none() | st.integers(0, 250)),
        "temp_c": draw(st.none() | st.integers(330, 420).map(lambda t: t / 10)),
        "spo2": draw(st.none() | st.integers(60, 100)),
        "avpu": draw(st.none() | st.sampled_from(AVPU)),
        "mobility": draw(st.none() | st.sampled_from(Mobility)),
    }
    ids = sorted(triage_view("sats-adult").findings)
    chosen = draw(st.lists(st.sampled_from(ids), max_size=4, unique=True))
    return patient, Vitals(**values), [Finding(f) for f in chosen]


@NET_SETTINGS
@given(adult_cases())
def test_the_net_never_lowers_what_the_primary_decides(
    case: tuple[Patient, Vitals, list[Finding]],
) -> None:
    patient, vitals, findings = case
    primary_ids = set(load_protocol("sats-adult").findings)
    own = [f for f in findings if f.id in primary_ids]
    alone = assess(patient, vitals, own, "sats-adult", net=False)
    netted = assess(patient, vitals, findings, "sats-adult")
    assert not alone.category.is_more_urgent_than(netted.category)


@NET_SETTINGS
@given(adult_cases())
def test_no_decision_is_green_while_a_floor_input_is_unknown(
    case: tuple[Patient, Vitals, list[Finding]],
) -> None:
    patient, vitals, findings = case
    decision = assess(patient, vitals, findings)
    if decision.incomplete:
        assert decision.category is not Category.GREEN
        assert decision.missing
    if decision.category is Category.GREEN:
        assert not decision.missing


@NET_SETTINGS
@given(adult_cases(), st.sampled_from(Category))
def test_clinical_concern_never_lowers_and_reaches_at_least_its_level(
    case: tuple[Patient, Vitals, list[Finding]], level: Category
) -> None:
    patient, vitals, findings = case
    without = assess(patient, vitals, findings)
    concerned = assess(patient, vitals, findings, concern=Concern(level, "worried"))
    assert not without.category.is_more_urgent_than(concerned.category)
    assert not level.is_more_urgent_than(concerned.category)
