"""Every screen, pinned by an SVG snapshot at 80x24, in English, French, Swahili and Arabic.

Deep screens are reached by preparing the encounter through the service (fast) and pushing the
screen; the pilot tests walk the same path by keyboard. The clock is fixed so that times shown
on screen (arrival, waiting, saved) do not change between runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from edgemed.i18n import available_languages
from edgemed.service import Encounter, Session
from edgemed.tui.app import EdgemedApp
from edgemed.tui.screens.concern import ConcernScreen
from edgemed.tui.screens.dialogs import DraftsScreen, LeaveScreen, QuitScreen
from edgemed.tui.screens.help import HelpScreen
from edgemed.tui.screens.history import DetailScreen, HistoryScreen
from edgemed.tui.screens.patient import PatientScreen
from edgemed.tui.screens.proposals import ProposalsScreen
from edgemed.tui.screens.questions import QuestionsScreen
from edgemed.tui.screens.queue import QueueScreen
from edgemed.tui.screens.result import ResultScreen
from edgemed.tui.screens.settings import SettingsScreen
from edgemed.tui.screens.signs import SignsScreen
from edgemed.tui.screens.vitals import VitalsScreen

from .conftest import CHEAP_KEYS, PASSPHRASE, USER, ready_session

FIXED_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
LOCALES = ["en", "fr", "sw", "ar"]


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    for module in ("edgemed.service.session", "edgemed.service.log", "edgemed.store.encounters"):
        monkeypatch.setattr(f"{module}.utc_now", lambda: FIXED_NOW)
    yield
    time.tzset()


@pytest.fixture(autouse=True)
def _locales_compiled(request: pytest.FixtureRequest) -> None:
    language = request.node.callspec.params.get("language", "en")
    if language not in available_languages():
        pytest.fail(f"no compiled catalog for {language}: run `make i18n` (or the install)")


def _unlocked(language: str) -> Session:
    session = ready_session(language)
    session.unlock(USER, PASSPHRASE)
    return session


def _encounter(session: Session, step: str) -> Encounter:
    encounter = session.new_encounter()
    encounter.started_at = FIXED_NOW
    session.set_patient(
        encounter, name="John K", age="34", complaint="chest pain since this morning, no fever"
    )
    if step == "patient":
        return encounter
    session.propose(encounter)
    if step == "proposals":
        return encounter
    session.decide_proposal(encounter, "chest_pain", True)
    if step == "signs":
        return encounter
    session.set_signs(encounter, set())
    if step == "vitals":
        return encounter
    session.set_vitals(
        encounter,
        {
            "rr": "24",
            "hr": "112",
            "sbp": "95",
            "temp_c": "38,4",
            "avpu": "A",
            "mobility": "walking",
        },
    )
    return encounter


ScreenMaker = Callable[[Session], "Screen[Any] | tuple[Screen[Any], ...]"]


def _incomplete(session: Session) -> ResultScreen:
    """A 61-year-old who fainted, no vitals taken yet: INCOMPLETE, at least YELLOW."""
    encounter = session.new_encounter()
    encounter.started_at = FIXED_NOW
    session.set_patient(encounter, name="Grace W", age="61", complaint="fainted at the market")
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {})
    return ResultScreen(encounter, session.finish(encounter))


def _concern(session: Session) -> tuple[Screen[Any], ...]:
    """The clinical-concern dialog over an incomplete YELLOW result: ORANGE and RED offered."""
    result = _incomplete(session)
    return result, ConcernScreen(result.encounter, result.result.category)


def _checklist(session: Session) -> Screen[Any]:
    """A walking, talking adult with every vital measured: the discriminator checklist is the
    first question (no proposal taken from the complaint: the list does not depend on a model)."""
    encounter = session.new_encounter()
    encounter.started_at = FIXED_NOW
    session.set_patient(encounter, name="Ruth A", age="25", complaint="small cut on the finger")
    session.set_signs(encounter, set())
    session.set_vitals(
        encounter,
        {
            "rr": "14",
            "hr": "78",
            "sbp": "124",
            "temp_c": "36,8",
            "spo2": "98",
            "avpu": "A",
            "mobility": "walking",
            "cap_refill_s": "2",
        },
    )
    return QuestionsScreen(encounter)


def _result(session: Session) -> Screen[Any]:
    encounter = _encounter(session, "questions")
    return ResultScreen(encounter, session.finish(encounter))


def _detail(session: Session) -> Screen[Any]:
    encounter = _encounter(session, "questions")
    result = session.finish(encounter)
    return DetailScreen(result.encounter_id)


def _correction(session: Session) -> Screen[Any]:
    """A saved encounter being corrected: "Correcting John K, version 2" on the step."""
    result = session.finish(_encounter(session, "questions"))
    correction = session.start_correction(result.encounter_id)
    session.set_patient(
        correction, name="John K", age="34", complaint="chest pain since this morning, no fever"
    )
    session.propose(correction)
    return ProposalsScreen(correction)


def _queue(session: Session) -> Screen[Any]:
    session.finish(_encounter(session, "questions"))
    # One patient waiting far past the target time: overdue by colour and symbol, compact.
    late = _encounter(session, "questions")
    late.patient_name = "Abdulrahman Mohammed"
    late.started_at = FIXED_NOW - timedelta(minutes=185)
    session.finish(late)
    return QueueScreen()


SCREENS: dict[str, ScreenMaker] = {
    "queue": _queue,
    "patient": lambda s: PatientScreen(_encounter(s, "patient")),
    "proposals": lambda s: ProposalsScreen(_encounter(s, "proposals")),
    "signs": lambda s: SignsScreen(_encounter(s, "signs")),
    "vitals": lambda s: VitalsScreen(_encounter(s, "vitals")),
    "questions": lambda s: QuestionsScreen(_encounter(s, "questions")),
    "checklist": _checklist,
    "result": _result,
    "result-incomplete": _incomplete,
    "concern": _concern,
    "history": lambda s: (s.finish(_encounter(s, "questions")), HistoryScreen())[1],
    "detail": _detail,
    "settings": lambda s: SettingsScreen(),
    "drafts": lambda s: (_encounter(s, "vitals"), DraftsScreen(s.drafts()))[1],
    "leave": lambda s: (VitalsScreen(_encounter(s, "vitals")), LeaveScreen()),
    "help": lambda s: HelpScreen(),
    "quit": lambda s: (VitalsScreen(_encounter(s, "vitals")), QuitScreen()),
    "correction": _correction,
}


@pytest.mark.parametrize("language", LOCALES)
def test_setup_screen(language: str, snap_compare: Any) -> None:
    session = Session(key_cost=CHEAP_KEYS)
    session.settings = session.settings.with_changes(language=language)
    from edgemed.i18n import set_language

    set_language(language)
    assert snap_compare(EdgemedApp(session), terminal_size=(80, 24))


@pytest.mark.parametrize("language", LOCALES)
def test_unlock_screen(language: str, snap_compare: Any) -> None:
    assert snap_compare(EdgemedApp(ready_session(language)), terminal_size=(80, 24))


@pytest.mark.parametrize("screen", sorted(SCREENS))
@pytest.mark.parametrize("language", LOCALES)
def test_screen(language: str, screen: str, snap_compare: Any) -> None:
    session = _unlocked(language)
    app = EdgemedApp(session)

    async def show(pilot: Pilot[None]) -> None:
        await pilot.pause()
        made = SCREENS[screen](session)
        for pushed in made if isinstance(made, tuple) else (made,):
            await app.switch_screen(pushed) if screen == "queue" else await app.push_screen(pushed)
            await pilot.pause()
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()

    assert snap_compare(app, run_before=show, terminal_size=(80, 24))
