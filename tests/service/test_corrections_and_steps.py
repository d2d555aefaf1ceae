"""Issue 14: a correction can change any earlier answer (the interview's too), shows the
proposals as the nurse left them, and says which version it makes; the name and complaint are
required by the service itself; the order of the steps is the service's (issue 15)."""

from __future__ import annotations

import pytest

from edgemed.protocol import Category, Presence
from edgemed.service import (
    Encounter,
    ProposalStatus,
    QuestionView,
    RequiredField,
    Session,
    TriageResult,
)
from edgemed.service.encounter import ENTRY_STEPS, step_after, step_before

FULL_VITALS = {
    "rr": "14",
    "hr": "78",
    "sbp": "124",
    "dbp": "78",
    "temp_c": "36.8",
    "spo2": "98",
    "avpu": "A",
    "mobility": "walking",
    "cap_refill_s": "2",
}
CONFUSED = "altered_mental_status"


def _answer_all(session: Session, encounter: Encounter, ticked: set[str]) -> list[QuestionView]:
    """Answer the interview: the checklist with ``ticked``, every other question "no"."""
    asked: list[QuestionView] = []
    for _ in range(60):
        question = session.next_question(encounter)
        if question is None:
            return asked
        asked.append(question)
        if question.checklist:
            session.set_discriminators(encounter, ticked & {c.finding_id for c in question.choices})
        elif question.vital:
            session.answer_vital(encounter, question.key, "")
        else:
            session.answer(encounter, question.key, Presence.ABSENT)
    raise AssertionError("the interview never ended")


def _steps(session: Session, encounter: Encounter) -> None:
    session.set_patient(encounter, name="John K", age="34", sex="male", complaint="headache")
    session.propose(encounter)
    session.proposals_done(encounter)
    session.set_signs(encounter, set())
    session.set_vitals(encounter, FULL_VITALS)


def _confused_v1(session: Session) -> TriageResult:
    encounter = session.new_encounter()
    _steps(session, encounter)
    session.decide_proposal(encounter, "headache", True)
    _answer_all(session, encounter, {CONFUSED})
    result = session.finish(encounter)
    assert result.category is Category.ORANGE, result
    return result


def test_a_correction_can_change_an_answer_given_in_the_questions(session: Session) -> None:
    first = _confused_v1(session)
    correction = session.start_correction(first.encounter_id)
    assert correction.correcting_version == 2
    assert correction.earlier.get(CONFUSED) is Presence.PRESENT
    _steps(session, correction)
    # The checklist comes again with "confused" ticked as it was; the nurse unticks it.
    question = session.next_question(correction)
    assert question is not None and question.checklist
    ticks = {c.finding_id: c.ticked for c in question.choices}
    assert ticks.get(CONFUSED) is True, ticks
    _answer_all(session, correction, set())
    second = session.finish(correction)
    assert second.encounter_id == first.encounter_id and second.version == 2
    assert second.category is not Category.ORANGE
    assert session.log.get(first.encounter_id).findings.get(CONFUSED) is Presence.ABSENT


def test_confirmed_proposals_show_confirmed_in_a_correction(session: Session) -> None:
    first = _confused_v1(session)
    correction = session.start_correction(first.encounter_id)
    session.set_patient(correction, name="John K", age="34", sex="male", complaint="headache")
    proposals = {p.finding_id: p for p in session.propose(correction)}
    assert proposals["headache"].status is ProposalStatus.CONFIRMED
    # The saved answer is the proposal's now: rejecting it takes it away.
    assert "headache" not in correction.answers and "headache" not in correction.earlier
    session.decide_proposal(correction, "headache", False)
    assert all(f.id != "headache" or not f.counts for f in correction.findings())


def test_answers_not_asked_again_are_kept(session: Session) -> None:
    first = _confused_v1(session)
    correction = session.start_correction(first.encounter_id)
    _steps(session, correction)
    # Ctrl+N at once: nothing asked again, everything stands as it was.
    second = session.finish(correction)
    assert second.category is Category.ORANGE and second.version == 2


@pytest.mark.parametrize(
    ("name", "complaint", "field"),
    [("", "cough", "name"), (" ", "", "name"), ("Ann", "  ", "complaint")],
)
def test_the_service_refuses_a_patient_without_name_or_complaint(
    session: Session, name: str, complaint: str, field: str
) -> None:
    encounter = session.new_encounter()
    with pytest.raises(RequiredField) as refused:
        session.set_patient(encounter, name=name, age="30", complaint=complaint)
    assert refused.value.field == field
    assert refused.value.message and refused.value.exit_code == 2
    assert encounter.step == "patient"


def test_the_order_of_the_steps_is_the_services(session: Session) -> None:
    assert ENTRY_STEPS == ("patient", "proposals", "signs", "vitals", "questions")
    assert [step_after(s) for s in ENTRY_STEPS] == [*ENTRY_STEPS[1:], "result"]
    assert [step_before(s) for s in ENTRY_STEPS] == [None, *ENTRY_STEPS[:-1]]
    encounter = session.new_encounter()
    assert not session.can_step_back(encounter)
    _steps(session, encounter)
    assert encounter.step == "questions"
    for wanted in reversed(ENTRY_STEPS[:-1]):
        assert session.step_back(encounter) == wanted
    assert session.step_back(encounter) is None and encounter.step == "patient"
