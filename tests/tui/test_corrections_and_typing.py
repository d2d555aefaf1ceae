"""Issue 14 by keyboard: every field reaches the encrypted draft as it is typed (a kill -9 loses
at most half a second), the name and the complaint are refused by the service when empty, and a
correction says "Correcting <name>, version N" on every step, shows the proposals as the nurse
left them and can change an answer given in the questions (a "confused: yes")."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from edgemed.protocol import Category, Presence
from edgemed.service import Session
from edgemed.store import Store
from edgemed.tui.app import EdgemedApp
from edgemed.tui.screens.base import KEEP_TYPED_AFTER_S
from edgemed.tui.widgets.ticklist import Tick, TickList
from tests.service.test_corrections_and_steps import CONFUSED, _confused_v1

from .conftest import PASSPHRASE, USER, ready_session
from .drive import app_screen, settle, type_text, unlock


def _drafts_on_disk(session: Session) -> list[dict[str, Any]]:
    """The drafts as a second process would read them (the app still running: as after a
    kill -9 of the app now)."""
    store = Store.open(session.log_path)
    try:
        store.unlock(USER, PASSPHRASE)
        return [d for d in (store.load_draft(i) for i in store.list_drafts()) if d is not None]
    finally:
        store.close()


def _text(app: EdgemedApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_fields_reach_the_encrypted_draft_as_they_are_typed() -> None:
    session = ready_session()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "Mary K")
        await pilot.pause(KEEP_TYPED_AFTER_S + 0.3)
        drafts = _drafts_on_disk(session)
        assert [d["typed"].get("name") for d in drafts] == ["Mary K"], drafts
        # Typing on: only once it pauses is the disk written (debounced), then it has it all.
        await pilot.press("enter")
        await type_text(pilot, "41")
        await pilot.pause(KEEP_TYPED_AFTER_S + 0.3)
        (draft,) = _drafts_on_disk(session)
        assert draft["typed"] == {"name": "Mary K", "age": "41"}
        assert app_screen(pilot) == "PatientScreen"


async def test_an_empty_complaint_is_refused_with_the_cursor_there() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "Mary K")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app_screen(pilot) == "PatientScreen"
        assert "what brings the patient" in _text(app, "#message")
        assert app.focused is not None and app.focused.id == "complaint"


async def test_a_correction_changes_confused_yes_and_says_which_version() -> None:
    session = ready_session()
    session.unlock(USER, PASSPHRASE)
    first = _confused_v1(session)
    session.lock()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("enter")  # the encounter in full
        await settle(pilot)
        assert app_screen(pilot) == "DetailScreen"
        await pilot.press("c")
        await settle(pilot)
        seen = []
        for _ in range(6):
            screen = app_screen(pilot)
            if screen == "QuestionsScreen":
                break
            seen.append(screen)
            assert _text(app, "#who").startswith("Correcting John K, version 2"), screen
            if screen == "ProposalsScreen":
                shown = " ".join(str(s.render()) for s in app.screen.query("#proposals Static"))
                assert "[yes] Headache: yes" in shown, shown
            await pilot.press("ctrl+n")
            await settle(pilot)
        assert seen == ["PatientScreen", "ProposalsScreen", "SignsScreen", "VitalsScreen"]
        assert _text(app, "#who").startswith("Correcting John K, version 2")
        # The discriminator checklist comes back with "confused" ticked: untick it.
        checklist = app.screen.query_one(TickList)
        ticks = list(checklist.query(Tick))
        index = [t.key for t in ticks].index(CONFUSED)
        assert ticks[index].ticked
        checklist.index = index
        await pilot.press("space")
        assert not ticks[index].ticked
        await pilot.press("ctrl+n")
        await settle(pilot)
        for _ in range(20):
            if app_screen(pilot) != "QuestionsScreen":
                break
            question = app.screen.question  # type: ignore[attr-defined]
            await pilot.press(*(("enter", "enter") if question.vital else ("n",)))
            await settle(pilot)
        assert app_screen(pilot) == "ResultScreen"
        result = app.screen.result  # type: ignore[attr-defined]
        assert result.version == 2 and result.category is not Category.ORANGE
        saved = session.log.get(first.encounter_id)
        assert saved.version == 2 and saved.findings[CONFUSED] is Presence.ABSENT
