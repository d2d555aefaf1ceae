"""The engine's behaviour around the cases: routing, vital limits, warnings, proposals, JSON."""

from __future__ import annotations

import pytest

from edgemed.protocol import (
    AVPU,
    Category,
    Decision,
    Finding,
    ImpossibleVital,
    InvalidCase,
    Mobility,
    Patient,
    Presence,
    ReasonKind,
    Reporter,
    RoutingCode,
    TriageWarning,
    UnknownFinding,
    Vitals,
    WarningCode,
    assess,
    check_vitals,
    load_protocol,
    most_urgent,
    route,
)
from edgemed.protocol.case import Case, parse_case

ADULT = Patient(age_years=30, sex="male", trauma=False)
FULL = Vitals(
    rr=16,
    hr=80,
    sbp=125,
    dbp=80,
    temp_c=36.8,
    spo2=98,
    avpu=AVPU.ALERT,
    mobility=Mobility.WALKING,
    cap_refill_s=1,
    glucose_mmol=5.5,
)


def test_category_words_and_order() -> None:
    assert [c.label for c in Category] == ["Emergency", "Very urgent", "Urgent", "Routine"]
    assert most_urgent([Category.GREEN, Category.ORANGE, Category.YELLOW]) is Category.ORANGE
    assert most_urgent([]) is Category.GREEN


@pytest.mark.parametrize(
    ("patient", "protocol_id", "note"),
    [
        (Patient(age_years=12), "sats-adult", None),
        (Patient(age_years=11.9), "etat-child", "No validated paediatric"),
        (Patient(age_months=143), "etat-child", "No validated paediatric"),
        (Patient(age_months=144), "sats-adult", None),
        (Patient(), "sats-adult", "Age not given"),
        (Patient(height_cm=160), "sats-adult", "height over 150 cm"),
    ],
)
def test_age_routing(patient: Patient, protocol_id: str, note: str | None) -> None:
    routed, routing_note = route(patient)
    assert routed == protocol_id
    if note is None:
        assert routing_note is None
    else:
        assert routing_note is not None and note in routing_note.text


def test_a_forced_protocol_for_the_wrong_age_says_so() -> None:
    decision = assess(Patient(age_years=5), Vitals(), [], "sats-adult")
    assert decision.protocol_id == "sats-adult"
    note = decision.routing_note
    assert note is not None and note.code is RoutingCode.FORCED
    assert (note.protocol, note.routed, note.age_months_min) == ("sats-adult", "etat-child", 144)
    assert "etat-child" in note.text


@pytest.mark.parametrize(
    ("vitals", "field", "low", "high"),
    [
        (Vitals(hr=600), "hr", 0, 350),
        (Vitals(temp_c=90), "temp_c", 10, 47),
        (Vitals(spo2=130), "spo2", 0, 100),
        (Vitals(rr=-1), "rr", 0, 150),
        (Vitals(glucose_mmol=300), "glucose_mmol", 0, 150),
    ],
)
def test_impossible_vitals_are_refused(vitals: Vitals, field: str, low: float, high: float) -> None:
    with pytest.raises(ImpossibleVital) as error:
        assess(ADULT, vitals, [])
    assert (error.value.field, error.value.low, error.value.high) == (field, low, high)
    assert f"accepted range is {low:g} to {high:g}" in str(error.value)


def test_implausible_vitals_are_accepted_with_a_re_measure_warning() -> None:
    warnings = check_vitals(Vitals(hr=280, temp_c=31, sbp=90, dbp=95))
    implausible = WarningCode.IMPLAUSIBLE_VITAL
    assert (
        TriageWarning(
            implausible,
            "HR 280 beats/min is unusual (expected 25-250): re-measure before relying on it.",
            field="hr",
            value=280,
            low=25,
            high=250,
        )
        in warnings
    )
    assert any(w.code is implausible and (w.field, w.value) == ("temp_c", 31) for w in warnings)
    assert any(w.text.startswith("temperature 31") for w in warnings)
    bp = next(w for w in warnings if w.code is WarningCode.DIASTOLIC_NOT_BELOW_SYSTOLIC)
    assert (bp.value, bp.high) == (95, 90)
    assert "DBP 95 is not below SBP 90" in bp.text
    decision = assess(ADULT, Vitals(hr=280), [], net=False)
    assert [w.code for w in decision.warnings if w.field == "hr"] == [implausible]
    assert decision.category is Category.YELLOW  # TEWS 3 for HR > 129
    # The safety net: IITT's red HR > 150 makes it at least SATS orange.
    netted = assess(ADULT, Vitals(hr=280), [])
    assert netted.category is Category.ORANGE
    assert any(r.rule_id == "iitt-adult/hr_above_150" for r in netted.reasons)


def test_impossible_patient_is_refused() -> None:
    with pytest.raises(ImpossibleVital, match="age_years = 200"):
        assess(Patient(age_years=200), Vitals(), [])
    with pytest.raises(InvalidCase, match="pregnant is true but sex is male"):
        assess(Patient(age_years=30, sex="male", pregnant=True), Vitals(), [])


def test_unknown_finding_suggests_close_ids() -> None:
    with pytest.raises(UnknownFinding) as error:
        assess(ADULT, Vitals(), [Finding("seizure")])
    assert "seizure_current" in error.value.suggestions
    assert error.value.protocol_id == "sats-adult"


def test_unknown_finding_even_as_a_proposal() -> None:
    with pytest.raises(UnknownFinding):
        assess(ADULT, Vitals(), [Finding("made_up", reporter=Reporter.PROPOSAL)])


def test_a_fully_measured_well_patient_is_green_with_the_baseline_reason() -> None:
    decision = assess(ADULT, FULL, [])
    assert decision.category is Category.GREEN
    assert decision.target_minutes == 240
    assert [r.rule_id for r in decision.reasons] == ["baseline"]
    baseline = decision.reasons[0]
    assert baseline.text == "no emergency sign, TEWS 1 (0-2), no discriminator"
    assert (baseline.kind, baseline.score, baseline.total, baseline.band) == (
        ReasonKind.BASELINE,
        "tews",
        1,
        (0, 2),
    )
    assert decision.warnings == ()


def test_a_missing_measurement_is_warned_about_when_it_could_raise() -> None:
    decision = assess(ADULT, Vitals(rr=22, hr=115, avpu=AVPU.ALERT), [], net=False)
    assert decision.category is Category.YELLOW  # TEWS 4
    missing = {w.field: w for w in decision.warnings if w.code is WarningCode.MISSING_INPUT}
    assert missing["sbp"].category is Category.RED
    assert missing["sbp"].text == "SBP not measured: could raise the category to RED."
    assert missing["mobility"].category is Category.ORANGE
    score = next(w for w in decision.warnings if w.code is WarningCode.SCORE_INCOMPLETE)
    assert (score.score, score.total) == ("tews", 4)
    assert set(score.fields) >= {"sbp", "mobility"} and score.worst is not None
    assert score.text.startswith("TEWS is 4 from what was measured")
    # With the net, the TEWS inputs a decision needs are named as missing: it is incomplete.
    netted = assess(ADULT, Vitals(rr=22, hr=115, avpu=AVPU.ALERT), [])
    assert netted.category is Category.YELLOW and netted.incomplete
    assert {"sbp", "mobility", "temp_c"} <= set(netted.missing)
    assert not any(w.field == "sbp" for w in netted.warnings)


def test_an_unconfirmed_proposal_never_counts_but_is_warned_about() -> None:
    proposal = Finding("seizure_current", reporter=Reporter.PROPOSAL)
    decision = assess(ADULT, FULL, [proposal])
    assert decision.category is Category.GREEN
    assert (
        TriageWarning(
            WarningCode.UNCONFIRMED_PROPOSAL,
            "Unconfirmed proposal 'seizure_current' (Seizure now) would raise the category to "
            "RED: confirm or reject.",
            finding="seizure_current",
            category=Category.RED,
        )
        in decision.warnings
    )
    confirmed = assess(ADULT, FULL, [Finding("seizure_current")])
    assert confirmed.category is Category.RED


def test_a_sign_marked_unknown_is_warned_about_and_absent_is_not() -> None:
    unknown = assess(ADULT, FULL, [Finding("chest_pain", Presence.UNKNOWN)])
    assert unknown.category is Category.GREEN
    assert [(w.code, w.finding, w.category) for w in unknown.warnings] == [
        (WarningCode.FINDING_UNKNOWN, "chest_pain", Category.ORANGE)
    ]
    assert "'chest_pain'" in unknown.warnings[0].text
    absent = assess(ADULT, FULL, [Finding("chest_pain", Presence.ABSENT)])
    assert absent.warnings == ()


def test_unknown_pregnancy_is_warned_about() -> None:
    woman = Patient(age_years=28, sex="female", trauma=False)
    decision = assess(woman, FULL, [Finding("headache")], "iitt-adult")
    assert decision.category is Category.GREEN
    assert (
        TriageWarning(
            WarningCode.NOT_RECORDED,
            "pregnancy not recorded: could raise the category to RED.",
            fields=("pregnancy",),
            category=Category.RED,
        )
        in decision.warnings
    )


def test_iitt_high_risk_vital_up_triages_one_level() -> None:
    green = assess(ADULT, Vitals(hr=135), [], "iitt-adult")
    yellow = assess(ADULT, Vitals(hr=135), [Finding("wheezing")], "iitt-adult")
    assert green.category is Category.YELLOW
    assert yellow.category is Category.RED
    assert "high_risk_hr_high" in {r.rule_id for r in yellow.reasons}


def test_reasons_carry_inputs_and_sources() -> None:
    decision = assess(
        Patient(age_years=26, sex="female", pregnant=True), Vitals(sbp=165), [], "iitt-adult"
    )
    reason = next(r for r in decision.reasons if r.rule_id == "pregnancy_sbp_160")
    assert reason.inputs == {"sbp": 165, "pregnant": True}
    assert reason.source == "iitt-adult-text" and reason.verified
    assert "SBP 165" in reason.text
    assert (reason.kind, reason.field, reason.value) == (ReasonKind.RULE, "sbp", 165)
    rules = {r.id: r.text for r in load_protocol("iitt-adult").rules}
    assert reason.words == rules["pregnancy_sbp_160"]


def test_json_round_trips() -> None:
    case = Case(
        Patient(age_years=40, sex="female", pregnant=False, weight_kg=60.5),
        Vitals(hr=101, avpu=AVPU.VOICE, mobility=Mobility.WITH_HELP),
        (Finding("chest_pain"), Finding("stridor", Presence.ABSENT, Reporter.PROPOSAL)),
        "sats-adult",
    )
    assert Case.from_dict(case.to_dict()) == case
    decision = case.assess()
    assert Decision.from_dict(decision.to_dict()) == decision
    assert Patient.from_dict(case.patient.to_dict()) == case.patient


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"patient": {"age": 3}}', "patient: unknown field(s) age"),
        ('{"patient": {"age_months": 2.5}}', "whole months"),
        ('{"patient": {"sex": "f"}}', "not one of female, male, unknown"),
        ('{"patient": {"pregnant": "yes"}}', "expected true, false or null"),
        ('{"vitals": {"hr": true}}', "expected a number"),
        ('{"findings": "chest_pain"}', "must be a list"),
        ('{"findings": [{"presence": "present"}]}', "'id' must be a non-empty string"),
        ('{"findings": [{"id": "x", "presence": "maybe"}]}', "not one of present, absent"),
        ('{"protocol": 3}', "must be a protocol id"),
        ('{"extra": 1}', "case: unknown field(s) extra"),
    ],
)
def test_malformed_cases_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidCase, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_case(text)


def test_finding_accepts_a_bare_id_and_enum_names() -> None:
    assert Finding.from_dict("stridor") == Finding("stridor")
    assert Finding.from_dict({"id": "stridor", "presence": "ABSENT"}).presence is Presence.ABSENT
    assert Vitals.from_dict({"avpu": "v"}).avpu is AVPU.VOICE
