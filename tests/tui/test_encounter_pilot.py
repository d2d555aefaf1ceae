"""A whole encounter through the keyboard, in rules-only mode; asserts on the SAVED encounter."""

from __future__ import annotations

from edgemed.protocol import Category, Presence
from edgemed.service import Session
from edgemed.store import Store
from edgemed.tui.app import EdgemedApp
from edgemed.tui.widgets.banner import CategoryBanner

from .conftest import CHEAP_KEYS, PASSPHRASE, USER, ready_session
from .drive import app_screen, patient, settle, type_text, unlock, vitals


async def test_first_run_creates_the_log_and_opens_the_queue() -> None:
    session = Session(key_cost=CHEAP_KEYS)
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app_screen(pilot) == "SetupScreen"
        for text in ("Kibera", USER, PASSPHRASE, PASSPHRASE):
            await type_text(pilot, text)
            await pilot.press("enter")
            await pilot.pause()
        await settle(pilot)
        assert app_screen(pilot) == "QueueScreen"
    assert session.settings.setup_done and session.settings.clinic_name == "Kibera"
    store = Store.open(session.log_path)
    store.unlock(USER, PASSPHRASE)
    assert store.users == [USER]
    store.close()


async def test_wrong_passphrase_stays_locked_and_says_why() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, USER)
        await pilot.press("enter")
        await type_text(pilot, "not the passphrase")
        await pilot.press("enter")
        await settle(pilot)
        assert app_screen(pilot) == "UnlockScreen"
        message = str(app.screen.query_one("#message").render())
        assert "Wrong user name or passphrase" in message
        assert not app.session.unlocked


async def test_rules_only_encounter_end_to_end() -> None:
    session = ready_session()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        assert app_screen(pilot) == "QueueScreen"
        await patient(pilot, "John K", "34", "chest pain since this morning")
        assert app_screen(pilot) == "ProposalsScreen"
        await pilot.press("y", "ctrl+n")
        await pilot.pause()
        assert app_screen(pilot) == "SignsScreen"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app_screen(pilot) == "VitalsScreen"
        await vitals(pilot, ["18", "88", "130", "80", "36.8"])
        await pilot.press("ctrl+n")
        await settle(pilot)
        # Answer the interview "no" until it is complete; the result appears only once saved.
        for _ in range(60):
            if app_screen(pilot) != "QuestionsScreen":
                break
            question = app.screen.question  # type: ignore[attr-defined]
            if question is not None and question.vital:
                await pilot.press("enter")
            else:
                await pilot.press("n")
            await settle(pilot)
        assert app_screen(pilot) == "ResultScreen"
        banner = app.screen.query_one(CategoryBanner)
        shown = str(banner.render())
        assert "ORANGE" in shown.replace(" ", "") and "VERYURGENT" in shown.replace(" ", "")
        result = app.screen.result  # type: ignore[attr-defined]
        await pilot.press("end")
        await type_text(pilot, " Seen.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app_screen(pilot) == "QueueScreen"
    # The saved encounter, read back through the store with the nurse's passphrase.
    store = Store.open(session.log_path)
    store.unlock(USER, PASSPHRASE)
    versions = store.history(result.encounter_id)
    store.close()
    assert [v.version for v in versions] == [1, 2]
    first, latest = versions[0].record, versions[-1].record
    assert first.decision["category"] == Category.ORANGE.value  # saved before it was shown
    assert latest.patient["name"] == "John K" and latest.patient["age_years"] == 34
    assert latest.complaint == "chest pain since this morning"
    assert {f["code"] for f in latest.findings.confirmed} >= {"chest_pain"}
    assert latest.vitals["hr"] == 88 and latest.vitals["temp_c"] == 36.8
    assert latest.handover_note.rstrip().endswith("Seen.")
    assert "Triage: ORANGE" in latest.handover_note
    assert latest.user == USER and latest.model_id is None


async def test_escape_keeps_a_draft_that_resumes() -> None:
    session = ready_session()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "Mary", "8m", "fever and cough")
        await pilot.press("ctrl+n")
        await pilot.pause()
        # No sign ticked (a ticked red sign would end the interview with the saved result).
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app_screen(pilot) == "VitalsScreen"
        await pilot.press("escape")
        await settle(pilot)
        assert app_screen(pilot) == "QueueScreen"
        await pilot.press("r")
        await settle(pilot)
        assert app_screen(pilot) == "DraftsScreen"
        await pilot.press("enter")
        await settle(pilot)
        assert app_screen(pilot) == "VitalsScreen"
        drafts = session.drafts()
        assert drafts[0].patient_name == "Mary" and drafts[0].protocol_id == "etat-child"
        first_sign = session.emergency_signs(drafts[0])[0].finding_id
        assert drafts[0].answers[first_sign] is Presence.ABSENT


async def test_impossible_vital_is_refused_in_place() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "P", "40", "cough")
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        await vitals(pilot, ["20", "600"])
        refusal = str(app.screen.query_one("#hr-check").render())
        assert "Heart rate 600 is impossible (accepted 0 to 350)" in refusal, refusal
        assert app.screen.query_one("#hr").has_class("invalid")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app_screen(pilot) == "VitalsScreen"


async def test_lock_then_unlock_returns_to_the_same_screen() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app_screen(pilot) == "UnlockScreen" and not app.session.unlocked
        await unlock(pilot)
        assert app_screen(pilot) == "HistoryScreen"
