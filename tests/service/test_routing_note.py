"""The routing note (why this protocol for this patient) is data, said in the nurse's language.

The engine gives a code and values with an English ``text`` nothing parses; the app words it
through gettext. A protocol forced for a patient outside its ages says so in French and Arabic
with no English sentence; a record written when the note was a plain sentence still loads.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator

import pytest

from edgemed import i18n
from edgemed.cli import main
from edgemed.i18n import available_languages, set_language
from edgemed.protocol import (
    Decision,
    Patient,
    RoutingCode,
    RoutingNote,
    Vitals,
    assess,
    route,
)
from edgemed.protocol.routing import CHILD_NOTE
from edgemed.service import Session
from edgemed.service.wording import routing_text

# Words of the engine's English note that no translation keeps.
ENGLISH = ("is meant for", "It was chosen", "chosen for this patient", "would use")


def _forced_child() -> Decision:
    """The adult protocol forced for a 5-year-old."""
    return assess(Patient(age_years=5), Vitals(), [], "sats-adult")


def _forced_adult() -> Decision:
    """The child protocol forced for a 30-year-old."""
    return assess(Patient(age_years=30), Vitals(), [], "etat-child")


@pytest.fixture
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    wanted = str(request.param)
    if wanted not in available_languages():
        pytest.fail(f"no compiled catalog for {wanted}: run `make i18n`")
    set_language(wanted)
    yield wanted
    set_language("en")


class _Marked(gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return f"«{message}»"


def test_a_forced_protocol_gives_a_typed_note() -> None:
    note = _forced_adult().routing_note
    assert note is not None and note.code is RoutingCode.FORCED
    assert (note.protocol, note.routed) == ("etat-child", "sats-adult")
    assert (note.age_months_min, note.age_months_below) == (None, 144)
    assert "etat-child is meant for" in note.text


def test_english_wording_names_the_protocols_and_the_ages() -> None:
    set_language("en")
    assert routing_text(_forced_child().routing_note or RoutingNote(None, "")) == (
        "SATS is meant for patients of 12 years and over; it was chosen for this patient. "
        "By age, edgemed would use ETAT."
    )
    assert routing_text(_forced_adult().routing_note or RoutingNote(None, "")).startswith(
        "ETAT is meant for patients under 12 years;"
    )


@pytest.mark.parametrize("language", ["fr", "ar"], indirect=True)
@pytest.mark.parametrize("make", [_forced_child, _forced_adult])
def test_a_forced_protocol_is_said_without_english(language: str, make: object) -> None:
    decision = make()  # type: ignore[operator]
    said = routing_text(decision.routing_note)
    assert said and not any(words in said for words in ENGLISH), said
    assert "12" in said or "١٢" in said, said


def test_every_code_goes_through_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_translation", _Marked())
    notes = [route(Patient(age_years=5))[1], route(Patient())[1]]
    notes += [route(Patient(height_cm=160))[1], route(Patient(height_cm=120))[1]]
    notes.append(_forced_child().routing_note)
    assert {n.code for n in notes if n is not None} == set(RoutingCode)
    for note in notes:
        assert note is not None
        assert "«" in routing_text(note), note


def test_a_note_saved_as_a_sentence_still_loads_and_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _forced_child().to_dict()
    assert data["routing_note"]["code"] == "forced" and data["routing_note"]["routed"]
    assert Decision.from_dict(data) == _forced_child()
    old = {**data, "routing_note": "sats-adult is meant for: adults. It was chosen."}
    loaded = Decision.from_dict(old).routing_note
    assert loaded == RoutingNote(None, "sats-adult is meant for: adults. It was chosen.")
    assert routing_text(loaded) == loaded.text
    # A fixed note recorded as a sentence is still translated.
    set_language("fr")
    try:
        child = Decision.from_dict({**data, "routing_note": CHILD_NOTE}).routing_note
        assert child is not None and routing_text(child) != CHILD_NOTE
    finally:
        set_language("en")


@pytest.mark.parametrize("language", ["fr", "ar"], indirect=True)
def test_the_result_screen_says_the_forced_note_in_the_nurse_s_language(
    session: Session, language: str
) -> None:
    session.settings = session.settings.with_changes(protocol_id="etat-child", language=language)
    encounter = session.new_encounter()
    session.set_patient(encounter, name="Old", age="40", complaint="cough")
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {"rr": "16", "hr": "80", "avpu": "A"})
    result = session.finish(encounter)
    assert result.protocol.startswith("etat-child")
    said = [w for w in result.warnings if "ETAT" in w and "SATS" in w]
    assert said, result.warnings
    assert not any(words in w for w in result.warnings for words in ENGLISH), result.warnings


@pytest.mark.parametrize("language", ["fr", "ar"], indirect=True)
def test_assess_explain_says_the_forced_note_in_the_nurse_s_language(
    language: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        main(["assess", "--protocol", "etat-child", "--age", "30", "--explain"])
    except SystemExit as done:
        assert not done.code
    out = capsys.readouterr().out
    routing = [line for line in out.splitlines() if "ETAT" in line and "SATS" in line]
    assert len(routing) == 1, out
    assert not any(words in routing[0] for words in ENGLISH), routing[0]
