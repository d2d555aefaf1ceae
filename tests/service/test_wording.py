"""Reasons and warnings are said from their kind and code, never by reading the engine's English.

A fake catalog that marks every message it is asked for proves each kind and code goes through
gettext; the French catalog proves the existing entries still meet the sentences; a record
written before reasons and warnings carried codes still loads and is shown as it was recorded.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from edgemed import i18n
from edgemed.i18n import available_languages, set_language
from edgemed.protocol import (
    AVPU,
    Category,
    Concern,
    Decision,
    Finding,
    Mobility,
    Patient,
    Presence,
    Reason,
    ReasonKind,
    Reporter,
    TriageWarning,
    Vitals,
    WarningCode,
    assess,
    triage_view,
)
from edgemed.service import Session
from edgemed.service.wording import reason_text, warning_text

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
PARTIAL = Vitals(rr=22, hr=115, avpu=AVPU.ALERT)  # TEWS 4, SBP and mobility not measured


def _decisions() -> list[Decision]:
    """Decisions that between them make the engine give every kind of reason and warning."""
    woman = Patient(age_years=28, sex="female", trauma=False)
    return [
        assess(ADULT, FULL, []),  # baseline
        assess(ADULT, FULL, [Finding("seizure_current")]),  # a rule
        assess(ADULT, FULL, [Finding("seizure_current", reporter=Reporter.PROPOSAL)]),
        assess(ADULT, FULL, [Finding("chest_pain", Presence.UNKNOWN)]),
        assess(ADULT, PARTIAL, [], net=False),  # the score; missing inputs; TEWS incomplete
        assess(ADULT, Vitals(hr=280, sbp=90, dbp=95), []),  # implausible; DBP >= SBP; the net
        assess(Patient(age_years=6, sex="male"), Vitals(temp_c=37.0), []),  # the floor
        assess(woman, FULL, [Finding("headache")], "iitt-adult"),  # pregnancy not recorded
        assess(ADULT, FULL, [], concern=Concern(Category.ORANGE, "looks grey")),
        assess(ADULT, FULL, [Finding("seizure_current")], concern=Concern(Category.YELLOW, "x")),
    ]


def _reasons() -> dict[ReasonKind, Reason]:
    out: dict[ReasonKind, Reason] = {}
    for decision in _decisions():
        for reason in decision.reasons:
            assert reason.kind is not None, reason
            out.setdefault(reason.kind, reason)
    return out


def _warnings() -> dict[WarningCode, TriageWarning]:
    out: dict[WarningCode, TriageWarning] = {}
    for decision in _decisions():
        for warning in decision.warnings:
            assert warning.code is not None, warning
            out.setdefault(warning.code, warning)
    return out


class _Marked(gettext.NullTranslations):
    """A catalog that translates every message into itself between « »."""

    def gettext(self, message: str) -> str:
        return f"«{message}»"


@pytest.fixture
def marked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_translation", _Marked())


@pytest.fixture
def french() -> Iterator[None]:
    if "fr" not in available_languages():
        pytest.fail("no compiled French catalog: run `make i18n`")
    set_language("fr")
    yield
    set_language("en")


def test_the_engine_gives_every_kind_of_reason_and_each_is_said_through_the_catalog(
    marked: None,
) -> None:
    reasons = _reasons()
    assert set(reasons) == set(ReasonKind)
    for kind, reason in reasons.items():
        said = reason_text(reason)
        assert "«" in said and said != reason.text, (kind, said)


def test_in_english_a_protocol_s_reasons_read_as_the_engine_wrote_them() -> None:
    """Rules, the score and the baseline are said with the engine's own words and values."""
    for decision in _decisions():
        for reason in decision.reasons:
            if reason.kind in (ReasonKind.RULE, ReasonKind.SCORE, ReasonKind.BASELINE):
                prefix = "IITT: " if reason.protocol == "iitt-adult" else ""
                assert reason_text(reason) == prefix + reason.text


def test_a_reason_from_a_consulted_protocol_says_which() -> None:
    decision = assess(ADULT, Vitals(hr=280), [])
    raised = next(r for r in decision.reasons if r.protocol == "iitt-adult")
    assert (raised.kind, raised.field, raised.value) == (ReasonKind.RULE, "hr", 280)
    assert reason_text(raised).startswith("IITT: ")


def test_the_engine_gives_every_warning_code_and_each_is_said_through_the_catalog(
    marked: None,
) -> None:
    warnings = _warnings()
    assert set(warnings) == set(WarningCode)
    protocol = triage_view("sats-adult")
    for code, warning in warnings.items():
        said = warning_text(warning, protocol)
        # The sentence itself is a catalog entry, not only the words put into it.
        assert said.startswith("«") and said.endswith("»"), (code, said)


def test_english_warnings_name_the_sign_the_measurement_and_the_level() -> None:
    warnings = _warnings()
    protocol = triage_view("sats-adult")
    said = {code: warning_text(w, protocol) for code, w in warnings.items()}
    assert said[WarningCode.UNCONFIRMED_PROPOSAL] == (
        "Unconfirmed proposal: Seizure now would raise the category to RED. Confirm or reject it."
    )
    assert said[WarningCode.FINDING_UNKNOWN] == (
        "Chest pain is not known: if present, the category would rise to ORANGE."
    )
    missing = [
        warning_text(w, protocol)
        for w in assess(ADULT, PARTIAL, [], net=False).warnings
        if w.code is WarningCode.MISSING_INPUT and w.field == "sbp"
    ]
    assert missing == ["Systolic BP not measured: it could raise the category to RED."]
    assert said[WarningCode.NOT_RECORDED] == (
        "Pregnancy not recorded: it could raise the category to RED."
    )
    both = TriageWarning(
        WarningCode.NOT_RECORDED, "", fields=("pregnancy", "age"), category=Category.RED
    )
    assert warning_text(both) == "Pregnancy + Age not recorded: it could raise the category to RED."
    nothing_named = TriageWarning(WarningCode.NOT_RECORDED, "", category=Category.ORANGE)
    assert warning_text(nothing_named).startswith("Patient details not recorded")
    trauma = TriageWarning(
        WarningCode.NOT_RECORDED, "", fields=("trauma",), category=Category.ORANGE
    )
    assert warning_text(trauma).startswith("Injury (trauma) not recorded")
    assert said[WarningCode.IMPLAUSIBLE_VITAL] == (
        "Heart rate 280 /min is unusual (expected 25 to 250): re-measure before relying on it."
    )
    assert said[WarningCode.DIASTOLIC_NOT_BELOW_SYSTOLIC] == (
        "Diastolic BP 95 is not below Systolic BP 90: re-measure the blood pressure."
    )
    assert said[WarningCode.CONCERN_NOT_HIGHER].startswith("Clinical concern at YELLOW recorded")
    assert "already reached RED" in said[WarningCode.CONCERN_NOT_HIGHER]
    assert said[WarningCode.SCORE_INCOMPLETE].startswith("TEWS is 4 from what was measured")


# English words of each sentence that a French rendering must not keep.
_ENGLISH = {
    WarningCode.UNCONFIRMED_PROPOSAL: "Unconfirmed proposal",
    WarningCode.FINDING_UNKNOWN: "is not known",
    WarningCode.MISSING_INPUT: "not measured",
    WarningCode.NOT_RECORDED: "not recorded",
    WarningCode.SCORE_INCOMPLETE: "from what was measured",
    WarningCode.IMPLAUSIBLE_VITAL: "is unusual",
    WarningCode.DIASTOLIC_NOT_BELOW_SYSTOLIC: "is not below",
    WarningCode.CONCERN_NOT_HIGHER: "already reached",
}


@pytest.mark.parametrize("code", list(WarningCode))
def test_each_warning_is_said_in_french(code: WarningCode, french: None) -> None:
    warning = _warnings()[code]
    said = warning_text(warning, triage_view("sats-adult"))
    assert _ENGLISH[code] not in said, said
    set_language("en")
    assert _ENGLISH[code] in warning_text(warning, triage_view("sats-adult"))


def test_french_reasons_use_the_catalog(french: None) -> None:
    reasons = _reasons()
    assert reason_text(reasons[ReasonKind.BASELINE]).startswith("aucun signe d'urgence")
    assert reason_text(reasons[ReasonKind.CONCERN]).startswith("Inquiétude clinique")
    for kind in (ReasonKind.RULE, ReasonKind.SCORE):
        assert reason_text(reasons[kind]) != reasons[kind].text, kind


def test_a_legacy_reason_or_warning_is_shown_as_recorded(marked: None) -> None:
    reason = Reason("tews", Category.YELLOW, "TEWS: 4 (3-4)", {}, "sats", True)
    assert reason.kind is None and reason_text(reason) == "TEWS: 4 (3-4)"
    warning = TriageWarning.from_dict("SBP not measured: could raise the category to RED.")
    assert warning.code is None
    assert warning_text(warning) == "SBP not measured: could raise the category to RED."


def test_reasons_and_warnings_round_trip_with_their_codes() -> None:
    for decision in _decisions():
        data = decision.to_dict()
        assert all("kind" in r and r["text"] for r in data["reasons"])
        assert all(w["code"] and w["text"] for w in data["warnings"])
        assert Decision.from_dict(data) == decision


def _legacy(decision: Mapping[str, Any]) -> dict[str, Any]:
    """A decision as records kept it before reasons and warnings carried codes."""
    keep = {"rule_id", "category", "text", "inputs", "source", "verified", "protocol"}
    return {
        **decision,
        "reasons": [{k: v for k, v in r.items() if k in keep} for r in decision["reasons"]],
        "warnings": [w["text"] for w in decision["warnings"]],
    }


def test_an_encounter_saved_before_codes_still_loads_and_shows(session: Session) -> None:
    encounter = session.new_encounter()
    session.set_patient(encounter, name="Old", age="40", complaint="chest pain")
    session.propose(encounter)  # left unconfirmed: a warning
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {"rr": "22", "hr": "115", "avpu": "A"})
    result = session.finish(encounter)
    assert any(w.startswith("Unconfirmed proposal: Chest pain") for w in result.warnings)

    # Write a version of it in the old format straight through the store, as an older edgemed
    # would have written it.
    store = session.log._store
    stored = store.get(result.encounter_id)
    old = _legacy(stored.record.decision)
    store.correct_encounter(
        result.encounter_id, replace(stored.record, decision=old), reason="older edgemed"
    )

    saved = session.log.get(result.encounter_id)
    assert all(r.kind is None for r in saved.decision.reasons)
    assert all(w.code is None for w in saved.decision.warnings)
    texts = [r["text"] for r in old["reasons"]]
    detail = session.detail(result.encounter_id)
    assert list(detail.reasons) == texts
    shown = session.result_view(encounter, saved.decision)
    assert set(old["warnings"]) <= set(shown.warnings)
    # And a correction made now is written with the codes again.
    session.finish(session.start_correction(result.encounter_id))
    newest = session.log.get(result.encounter_id).decision
    assert all(r.kind is not None for r in newest.reasons)
    assert all(w.code is not None for w in newest.warnings)


def test_an_incomplete_result_names_its_floor_reason_for_the_screen(session: Session) -> None:
    encounter = session.new_encounter()
    session.set_patient(encounter, name="Child", age="6", complaint="fever")
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {"temp_c": "37"})
    result = session.finish(encounter)
    assert result.incomplete and result.category is Category.ORANGE
    assert result.floor_reason in result.reasons
    assert result.floor_reason.startswith("Not measured yet (") and "Respiratory rate" in (
        result.floor_reason
    )
    whole = session.new_encounter()
    session.set_patient(whole, name="Adult", age="30", complaint="headache")
    session.set_signs(whole, set())
    session.set_vitals(
        whole,
        {"rr": "16", "hr": "80", "sbp": "120", "temp_c": "37", "avpu": "A", "mobility": "walking"},
    )
    assert session.finish(whole).floor_reason == ""
