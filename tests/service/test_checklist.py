"""Issue 14: the discriminators that decide alone come as one checklist question; a low-acuity
adult with full vitals gets it and then only a few more questions."""

from __future__ import annotations

import pytest

from edgemed.errors import InputError
from edgemed.protocol import Category, Presence
from edgemed.service import DISCRIMINATORS_KEY, Encounter, Session

FULL_VITALS = {
    "rr": "14",
    "hr": "78",
    "sbp": "124",
    "dbp": "78",
    "temp_c": "36.8",
    "spo2": "98",
    "avpu": "A",
    "mobility": "walking",
}


def _low_acuity(session: Session, sex: str = "male", complaint: str = "small cut") -> Encounter:
    encounter = session.new_encounter()
    session.set_patient(encounter, name="John K", age="34", sex=sex, complaint=complaint)
    session.set_signs(encounter, set())
    session.set_vitals(encounter, FULL_VITALS)
    return encounter


def _answer_no_until_done(session: Session, encounter: Encounter) -> list[str]:
    asked = []
    for _ in range(20):
        question = session.next_question(encounter)
        if question is None:
            return asked
        asked.append(question.key)
        if question.checklist:
            session.set_discriminators(encounter, set())
        elif question.vital:
            session.answer_vital(encounter, question.key, "")
        else:
            session.answer(encounter, question.key, Presence.ABSENT)
    pytest.fail(f"the interview never ended: {asked}")


def test_a_low_acuity_adult_gets_the_checklist_as_one_question(session: Session) -> None:
    encounter = _low_acuity(session)
    asked = _answer_no_until_done(session, encounter)
    assert asked.count(DISCRIMINATORS_KEY) == 1
    assert len(asked) <= 4, asked
    # Every sign on the list was looked at: recorded absent, none asked again one by one.
    listed = set(encounter.checklist)
    assert len(listed) > 20 and not listed & set(asked)
    assert all(encounter.answers[fid] is Presence.ABSENT for fid in listed)
    assert session.finish(encounter).category is Category.GREEN


def test_the_checklist_counts_once_and_lists_what_would_raise_the_category(
    session: Session,
) -> None:
    encounter = _low_acuity(session)
    question = session.next_question(encounter)
    while question is not None and not question.checklist:
        session.answer_vital(encounter, question.key, "")
        question = session.next_question(encounter)
    assert question is not None and question.choices
    protocol = session.protocol_for(encounter)
    assert all(protocol.findings[c.finding_id].alone for c in question.choices)
    assert not any(c.ticked for c in question.choices)
    assert question.remaining <= 3  # the checklist counts as one
    # The most urgent first: every ORANGE sign before any YELLOW one.
    urgencies = [protocol.findings[c.finding_id].category.urgency for c in question.choices]
    assert urgencies == sorted(urgencies)


def test_a_ticked_sign_decides_and_back_shows_the_ticks_again(session: Session) -> None:
    encounter = _low_acuity(session, sex="female", complaint="feels unwell")
    session.set_vitals(encounter, {**FULL_VITALS, "cap_refill_s": "2"})
    session.set_discriminators(encounter, {"abdominal_pain"})
    assert encounter.answers["abdominal_pain"] is Presence.PRESENT
    assert encounter.checklist_done
    # Pregnancy now matters: asked on its own after the checklist.
    question = session.next_question(encounter)
    assert question is not None and question.key == "pregnant"
    # The draft keeps the checklist (a power cut does not ask it again).
    again = Encounter.from_draft(encounter.to_draft(), {})
    assert again.checklist_done and again.checklist == encounter.checklist
    # Back: the checklist again, its tick kept, its answers forgotten until submitted.
    session.unanswer(encounter, DISCRIMINATORS_KEY)
    question = session.next_question(encounter)
    assert question is not None and question.checklist
    assert {c.finding_id for c in question.choices if c.ticked} == {"abdominal_pain"}
    assert "abdominal_pain" not in encounter.answers
    session.set_discriminators(encounter, {"abdominal_pain"})
    session.answer(encounter, "pregnant", Presence.ABSENT)
    assert session.next_question(encounter) is None
    assert session.finish(encounter).category is Category.YELLOW


def test_a_confirmed_proposal_is_pre_ticked(session: Session) -> None:
    encounter = _low_acuity(session)
    from edgemed.service import ProposalStatus, ProposedFinding

    encounter.proposals.append(
        ProposedFinding("moderate_pain", "Moderate pain", True, 0.9, "lexicon", (0, 4), "pain")
    )
    encounter.proposals[0].status = ProposalStatus.CONFIRMED
    session.set_vitals(encounter, {**FULL_VITALS, "cap_refill_s": "2"})
    choices = session.discriminators(encounter)
    assert choices and choices[0].finding_id == "moderate_pain" and choices[0].ticked


def test_the_checklist_answered_as_a_whole(session: Session) -> None:
    encounter = _low_acuity(session)
    session.set_vitals(encounter, {**FULL_VITALS, "cap_refill_s": "2"})
    with pytest.raises(InputError):
        session.answer(encounter, DISCRIMINATORS_KEY, Presence.PRESENT)
    session.answer(encounter, DISCRIMINATORS_KEY, Presence.UNKNOWN)
    assert encounter.checklist_done and set(encounter.checklist) <= encounter.skipped
    assert (
        session.next_question(encounter) is None or not session.next_question(encounter).checklist
    )  # type: ignore[union-attr]
