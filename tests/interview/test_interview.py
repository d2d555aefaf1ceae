"""The interview: emergency signs, then vitals that matter, then discriminators; early stop."""

from __future__ import annotations

from dataclasses import replace as dataclasses_replace

from edgemed.interview import (
    AGE,
    DISCRIMINATOR,
    EMERGENCY,
    VITAL,
    Question,
    answer_finding,
    interview_state,
    next_question,
    questions,
)
from edgemed.protocol import (
    AVPU,
    Category,
    Finding,
    Mobility,
    Patient,
    Presence,
    Reporter,
    Vitals,
    assess,
    load_protocol,
)

ADULT = Patient(age_years=40)


def _stages(qs: list[Question]) -> list[str]:
    return [q.stage for q in qs]


def test_emergency_signs_come_first_then_vitals_then_discriminators() -> None:
    protocol = load_protocol("sats-adult")
    qs = questions(protocol, ADULT, Vitals(), [])
    stages = _stages(qs)
    assert stages[0] == EMERGENCY
    last_emergency = max(i for i, s in enumerate(stages) if s == EMERGENCY)
    first_vital = stages.index(VITAL)
    first_discriminator = stages.index(DISCRIMINATOR)
    assert last_emergency < first_vital < first_discriminator
    emergency = {q.key for q in qs if q.stage == EMERGENCY}
    assert emergency == {fid for fid, d in protocol.findings.items() if d.category is Category.RED}
    assert all(q.text for q in qs)


def test_the_most_urgent_category_ends_the_interview() -> None:
    protocol = load_protocol("sats-adult")
    findings = answer_finding([], "seizure_current", present=True)
    assert next_question(protocol, ADULT, Vitals(), findings) is None
    state = interview_state(protocol, ADULT, Vitals(), findings)
    assert state.stopped_early and state.complete
    assert state.category is Category.RED


def test_answered_signs_are_not_asked_again() -> None:
    protocol = load_protocol("sats-adult")
    first = next_question(protocol, ADULT, Vitals(), [])
    assert first is not None
    findings = answer_finding([], first.key, present=False)
    second = next_question(protocol, ADULT, Vitals(), findings)
    assert second is not None and second.key != first.key


def test_age_is_asked_when_unknown() -> None:
    protocol = load_protocol("sats-adult")
    findings = [
        Finding(fid, Presence.ABSENT, Reporter.NURSE)
        for fid, d in protocol.findings.items()
        if d.category is Category.RED
    ]
    question = next_question(protocol, Patient(), Vitals(), findings)
    assert question is not None and question.stage == AGE


def test_only_what_can_still_raise_the_category_is_asked() -> None:
    protocol = load_protocol("sats-adult")
    no_emergency = [
        Finding(fid, Presence.ABSENT, Reporter.NURSE)
        for fid, d in protocol.findings.items()
        if d.category is Category.RED
    ]
    # Chest pain already makes it orange: only signs or vitals that could reach red remain.
    findings = [*no_emergency, Finding("chest_pain", Presence.PRESENT, Reporter.NURSE)]
    remaining = questions(protocol, ADULT, Vitals(), findings)
    assert remaining, "a vital could still reach red"
    # Each could reach red, or is a measurement the decision needs to be complete (the TEWS).
    needed = set(assess(ADULT, Vitals(), findings, protocol.id).missing)
    assert all(q.could_reach is Category.RED or q.key in needed for q in remaining)
    assert all(q.stage == VITAL for q in remaining)


def test_suggested_discriminators_are_asked_before_the_others() -> None:
    protocol = load_protocol("sats-adult")
    findings = [
        Finding(fid, Presence.ABSENT, Reporter.NURSE)
        for fid, d in protocol.findings.items()
        if d.category is Category.RED
    ]
    vitals = Vitals(
        rr=16, hr=80, sbp=120, temp_c=37.0, spo2=98, avpu=AVPU.ALERT, mobility=Mobility.WALKING
    )
    qs = questions(protocol, ADULT, vitals, findings, suggested={"abdominal_pain"})
    discriminators = [q.key for q in qs if q.stage == DISCRIMINATOR]
    assert discriminators[0] == "abdominal_pain"


def test_interview_completes_when_nothing_can_change_the_category() -> None:
    from dataclasses import replace

    from edgemed.protocol import AVPU, Mobility

    normal: dict[str, object] = {
        "rr": 24,
        "hr": 100,
        "sbp": 110,
        "dbp": 70,
        "temp_c": 37.0,
        "spo2": 98,
        "avpu": AVPU.ALERT,
        "mobility": Mobility.WALKING,
        "cap_refill_s": 1.0,
        "glucose_mmol": 5.0,
    }
    protocol = load_protocol("etat-child")
    child = Patient(age_years=4)
    vitals = Vitals()
    findings: list[Finding] = []
    asked = 0
    while (q := next_question(protocol, child, vitals, findings)) is not None:
        asked += 1
        assert asked < 100
        if q.stage == VITAL and q.key == "trauma":
            child = replace(child, trauma=False)
        elif q.stage == VITAL:
            vitals = replace(vitals, **{q.key: normal[q.key]})  # type: ignore[arg-type]
        else:
            findings = answer_finding(findings, q.key, present=False)
    state = interview_state(protocol, child, vitals, findings)
    assert state.complete and not state.stopped_early
    assert state.category is Category.GREEN
    assert asked >= len([d for d in protocol.findings.values() if d.category is Category.RED])


def test_the_net_s_signs_are_asked_when_a_yes_would_raise_the_category() -> None:
    """Headache with fever -> neck stiffness (IITT meningism, through the safety net)."""
    from edgemed.protocol import triage_view

    view = triage_view("sats-adult")
    normal = Vitals(rr=16, hr=80, sbp=120, temp_c=38.5, avpu=AVPU.ALERT, mobility=Mobility.WALKING)
    patient = Patient(age_years=25, sex="male", trauma=False)
    asked = [q.key for q in questions(view, patient, normal, [Finding("fever")])]
    assert "stiff_neck" in asked and "snake_bite" in asked
    # A sign that counts only with another is not asked on its own.
    plain = [q.key for q in questions(view, patient, dataclasses_replace(normal, temp_c=37.0), [])]
    assert "stiff_neck" not in plain


def test_abdominal_pain_in_a_woman_of_child_bearing_age_asks_about_pregnancy() -> None:
    from edgemed.interview import PREGNANCY
    from edgemed.protocol import triage_view

    view = triage_view("sats-adult")
    normal = Vitals(rr=16, hr=80, sbp=120, temp_c=37.0, avpu=AVPU.ALERT, mobility=Mobility.WALKING)
    woman = Patient(age_years=24, sex="female", trauma=False)
    qs = questions(view, woman, normal, [Finding("abdominal_pain")])
    assert any(q.stage == PREGNANCY for q in qs)
    man = Patient(age_years=24, sex="male", trauma=False)
    assert not any(q.stage == PREGNANCY for q in questions(view, man, normal, []))
    older = Patient(age_years=70, sex="female", trauma=False)
    assert not any(q.stage == PREGNANCY for q in questions(view, older, normal, []))
    # Once she is pregnant, bleeding is asked (it would raise the category).
    pregnant = Patient(age_years=24, sex="female", pregnant=True, trauma=False)
    asked = [q.key for q in questions(view, pregnant, normal, [Finding("abdominal_pain")])]
    assert "heavy_bleeding" in asked or "pv_bleeding" in asked
