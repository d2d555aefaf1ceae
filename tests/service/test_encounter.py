"""A whole encounter through the application layer, read back from the encrypted log."""

from __future__ import annotations

import pytest

from edgemed.errors import InputError
from edgemed.protocol import Category, Presence
from edgemed.service import Encounter, Session, VitalsError
from edgemed.service.log import EncounterLog
from edgemed.store import Store

from .conftest import CHEAP_KEYS, PASSPHRASE, USER


def _to_result(session: Session, complaint: str, **vitals: str) -> Encounter:
    encounter = session.new_encounter()
    session.set_patient(encounter, name="John K", age="34", complaint=complaint)
    session.propose(encounter)
    session.set_signs(encounter, set())
    session.set_vitals(encounter, vitals)
    return encounter


def test_rules_only_encounter_is_saved_before_the_result_is_shown(session: Session) -> None:
    encounter = session.new_encounter()
    session.set_patient(
        encounter, name="John K", age="34", complaint="chest pain since this morning"
    )
    proposals = session.propose(encounter)
    assert "chest_pain" in [p.finding_id for p in proposals]
    session.decide_proposal(encounter, "chest_pain", confirm=True)
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {"rr": "18", "hr": "88", "sbp": "130", "temp_c": "36,8"})
    result = session.finish(encounter)

    # Read back through a second, independent Store: the result was on disk when returned.
    store = Store.open(session.log_path)
    store.unlock(USER, PASSPHRASE)
    stored = store.get(result.encounter_id)
    store.close()
    assert stored.record.decision["category"] == result.category.value
    assert stored.record.patient["name"] == "John K"
    assert stored.record.vitals["temp_c"] == 36.8
    confirmed = {f["code"] for f in stored.record.findings.confirmed}
    assert "chest_pain" in confirmed
    assert stored.record.model_id is None
    assert result.reasons and result.actions
    # SATS lists chest pain as a very urgent (orange) discriminator.
    assert result.category is Category.ORANGE
    assert session.drafts() == []


def test_a_pending_proposal_never_counts(session: Session) -> None:
    encounter = session.new_encounter()
    session.set_patient(encounter, name="A", age="40", complaint="chest pain")
    session.propose(encounter)
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {"rr": "16", "hr": "80", "sbp": "120", "temp_c": "37"})
    result = session.finish(encounter)
    assert result.category is not Category.ORANGE
    assert any(w.startswith("Unconfirmed proposal: Chest pain") for w in result.warnings)
    saved = session.log.get(result.encounter_id)
    assert "chest_pain" not in saved.findings


def test_a_ticked_emergency_sign_is_red_and_saved(session: Session) -> None:
    encounter = session.new_encounter()
    session.set_patient(encounter, name="B", age="25", complaint="fitting now")
    signs = session.emergency_signs(encounter)
    assert "seizure_current" in [s.finding_id for s in signs]
    session.set_signs(encounter, {"seizure_current"})
    session.set_vitals(encounter, {})
    assert session.next_question(encounter) is None  # the most urgent category ends the interview
    result = session.finish(encounter)
    assert result.category is Category.RED
    assert result.target_minutes == 0
    assert session.log.get(result.encounter_id).findings["seizure_current"] is Presence.PRESENT


def test_impossible_vitals_are_refused_and_implausible_ones_questioned(session: Session) -> None:
    assert session.check_vital("hr", "600").error
    assert session.check_vital("temp_c", "90").error
    assert session.check_vital("spo2", "130").error
    assert session.check_vital("avpu", "Q").error
    assert session.check_vital("hr", "abc").error
    assert session.check_vital("rr", "120").warning
    ok = session.check_vital("temp_c", "37,5")
    assert ok.accepted and ok.value == 37.5 and ok.warning is None
    assert session.check_vital("temp_c", "٣٧٫٥").value == 37.5
    encounter = session.new_encounter()
    session.set_patient(encounter, name="C", age="30", complaint="fever")
    with pytest.raises(VitalsError) as refused:
        session.set_vitals(encounter, {"hr": "600", "rr": "20"})
    assert [c.field for c in refused.value.checks] == ["hr"]


def test_interview_questions_until_complete(session: Session) -> None:
    encounter = session.new_encounter()
    session.set_patient(encounter, name="D", age="45", complaint="headache")
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {"rr": "16", "hr": "80", "sbp": "120", "temp_c": "37"})
    asked = []
    for _ in range(80):
        question = session.next_question(encounter)
        if question is None:
            break
        asked.append(question.key)
        if question.vital:
            session.answer_vital(encounter, question.key, "")
        else:
            session.answer(encounter, question.key, Presence.UNKNOWN)
    else:
        pytest.fail("the interview never ended")
    assert asked and len(asked) == len(set(asked))  # "not known" is never asked twice
    result = session.finish(encounter)
    # Every question answered "not known": never a plain GREEN. The decision is incomplete,
    # floored at YELLOW, and names what is still to measure.
    assert result.category is Category.YELLOW
    assert result.incomplete and set(result.missing_fields) <= {"avpu", "mobility"}
    assert result.missing_fields


def test_draft_survives_a_restart(session: Session) -> None:
    encounter = session.new_encounter()
    session.set_patient(encounter, name="E", age="8m", complaint="cough")
    session.set_signs(encounter, set())
    session.close()
    again = Session(key_cost=CHEAP_KEYS)
    again.unlock(USER, PASSPHRASE)
    drafts = again.drafts()
    assert [d.patient_name for d in drafts] == ["E"]
    assert drafts[0].patient.age_months == 8
    assert drafts[0].step == "vitals"
    assert drafts[0].protocol_id == "etat-child"
    again.close()


def test_the_note_is_edited_and_saved_as_a_new_version(session: Session) -> None:
    encounter = _to_result(
        session, "headache", rr="16", hr="80", sbp="120", temp_c="37", avpu="A", mobility="walking"
    )
    result = session.finish(encounter)
    note = "".join(session.stream_note(encounter))
    assert "GREEN" in note and "Handover" in note
    version = session.save_note(encounter, note + "\nSeen by the clinical officer.")
    assert version == 2
    detail = session.detail(result.encounter_id)
    assert detail.version == 2 and detail.note.endswith("clinical officer.")


def test_a_correction_is_a_new_version_and_history_finds_it(session: Session) -> None:
    encounter = _to_result(
        session, "headache", rr="16", hr="80", sbp="120", temp_c="37", avpu="A", mobility="walking"
    )
    result = session.finish(encounter)
    correction = session.start_correction(result.encounter_id)
    session.set_patient(correction, name="John K", age="34", complaint="headache")
    session.set_signs(correction, {"seizure_current"})
    session.set_vitals(correction, {"rr": "16", "hr": "80", "sbp": "120"})
    corrected = session.finish(correction)
    assert corrected.encounter_id == result.encounter_id
    assert corrected.version == 2 and corrected.category is Category.RED
    assert [e.encounter_id for e in session.history("headache")] == [result.encounter_id]
    queue = session.queue()
    assert queue[0].category is Category.RED


def test_queue_is_most_urgent_first(session: Session) -> None:
    # The less urgent patient arrives first: a queue in arrival order puts them first.
    normal = {"rr": "16", "hr": "80", "sbp": "120", "temp_c": "37", "avpu": "A"}
    arrivals = (
        ("headache", {**normal, "mobility": "walking"}),
        ("chest pain", {**normal, "rr": "31", "hr": "135", "mobility": "walking"}),
    )
    categories = {}
    for complaint, vitals in arrivals:
        encounter = _to_result(session, complaint, **vitals)
        categories[complaint] = session.finish(encounter).category
    assert categories["chest pain"].urgency < categories["headache"].urgency  # not a tie
    queue = session.queue()
    assert [(e.complaint, e.category) for e in queue] == [
        ("chest pain", categories["chest pain"]),
        ("headache", categories["headache"]),
    ]


def test_setup_and_unlock_errors_are_for_the_nurse() -> None:
    fresh = Session(key_cost=CHEAP_KEYS)
    assert fresh.needs_setup()
    with pytest.raises(InputError):
        fresh.setup(
            language="en",
            clinic_name="",
            user="x",
            passphrase="short",
            passphrase_again="short",
            model_id=None,
        )
    with pytest.raises(InputError):
        fresh.setup(
            language="en",
            clinic_name="",
            user="x",
            passphrase="long enough 1",
            passphrase_again="long enough 2",
            model_id=None,
        )
    fresh.setup(
        language="fr",
        clinic_name="C",
        user="x",
        passphrase="long enough",
        passphrase_again="long enough",
        model_id=None,
    )
    fresh.lock()
    assert not fresh.unlocked
    from edgemed.store import WrongPassphrase

    with pytest.raises(WrongPassphrase):
        fresh.unlock("x", "wrong passphrase")
    fresh.unlock("x", "long enough")
    assert fresh.unlocked
    assert Session().settings.language == "fr"
    assert EncounterLog.exists(fresh.log_path)
    fresh.close()


def test_engine_warnings_are_said_in_the_nurses_language(session: Session) -> None:
    """The engine's warnings a nurse meets are said from their codes, in her language."""
    from edgemed.i18n import available_languages, set_language
    from edgemed.protocol import Category, TriageWarning, WarningCode, load_protocol
    from edgemed.service.wording import warning_text

    encounter = session.new_encounter()
    session.set_patient(encounter, name="W", age="40", complaint="chest pain")
    session.propose(encounter)
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {"rr": "16", "hr": "80", "temp_c": "37"})
    result = session.finish(encounter)
    assert (
        "Unconfirmed proposal: Chest pain would raise the category to ORANGE. "
        "Confirm or reject it." in result.warnings
    )
    protocol = load_protocol("sats-adult")
    stridor = TriageWarning(
        WarningCode.FINDING_UNKNOWN,
        "'stridor' (Stridor) is not known: if present it would raise the category to RED.",
        finding="stridor",
        category=Category.RED,
    )
    assert warning_text(stridor, protocol) == (
        "Stridor is not known: if present, the category would rise to RED."
    )
    facts = TriageWarning(
        WarningCode.NOT_RECORDED,
        "pregnancy and age not recorded: could raise the category to RED.",
        fields=("pregnancy", "age"),
        category=Category.RED,
    )
    assert warning_text(facts, protocol) == (
        "Pregnancy + Age not recorded: it could raise the category to RED."
    )
    assert warning_text(TriageWarning(None, "Something new."), protocol) == "Something new."
    if "fr" not in available_languages():
        pytest.fail("no compiled French catalog: run `make i18n`")
    set_language("fr")
    sbp = TriageWarning(
        WarningCode.MISSING_INPUT,
        "SBP not measured: could raise the category to ORANGE.",
        field="sbp",
        category=Category.ORANGE,
    )
    assert warning_text(sbp, protocol) == (
        "PA systolique : non mesuré ; pourrait relever la catégorie à ORANGE."
    )


def test_a_missing_model_never_blocks_the_handover(session: Session) -> None:
    session.update_settings(model_id="no-such-model")
    encounter = _to_result(
        session, "headache", rr="16", hr="80", sbp="120", temp_c="37", avpu="A", mobility="walking"
    )
    session.finish(encounter)
    note = "".join(session.stream_note(encounter))
    assert note.startswith("Handover: John K") and "Triage: GREEN" in note
    assert session.model_problem and "no-such-model" in session.model_problem


def test_the_queue_reads_records_with_the_documented_clinic_number(session: Session) -> None:
    """The store documents ``clinic_number`` (and ``name``) among a patient's identifiers: a
    record that carries it is listed, never a crash (hardening issue, row 10)."""
    from dataclasses import replace

    from edgemed.service.log import _record

    encounter = _to_result(
        session, "cough", rr="16", hr="80", sbp="120", temp_c="37", avpu="A", mobility="walking"
    )
    session.finish(encounter)
    record = _record(encounter, USER, None)
    tagged = replace(record, patient={**record.patient, "clinic_number": "KB-0042"})
    session.log._store.save_encounter(tagged)
    queue = session.queue()
    assert len(queue) == 2 and all(e.patient == "John K" for e in queue)


def test_a_patient_marked_seen_or_gone_leaves_the_queue_not_the_log(session: Session) -> None:
    """A RED patient must not stay overdue for ever: seen / left without being seen take an
    encounter off today's queue as a new, audited version; the history keeps it."""
    vitals = {"temp_c": "37", "avpu": "A", "mobility": "walking"}
    first = _to_result(session, "cough", rr="16", hr="80", sbp="120", **vitals)
    seen = session.finish(first)
    second = _to_result(session, "sore throat", rr="16", hr="80", sbp="120", **vitals)
    gone = session.finish(second)
    assert len(session.queue()) == 2
    assert session.mark_seen(seen.encounter_id) == 2
    assert session.mark_seen(gone.encounter_id, left=True) == 2
    assert session.queue() == []
    history = {e.encounter_id for e in session.history()}
    assert {seen.encounter_id, gone.encounter_id} <= history
    assert session.log.get(gone.encounter_id).reason == "left without being seen"
    # The record is carried over as it was: the decision is the one the nurse saw.
    latest = session.log.get(seen.encounter_id)
    assert latest.reason == "seen" and latest.decision.category is seen.category
