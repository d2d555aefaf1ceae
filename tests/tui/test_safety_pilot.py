"""Issue 11 in the app, by keyboard: a red sign ends the interview, no decision without data is
GREEN (INCOMPLETE, at least YELLOW, what is missing named), could-not-be-measured with a reason
finishes a decision, clinical concern raises (never lowers) and is saved as a new version, and
pregnancy is asked only where it can apply. Assertions are on the SAVED encounter where one is."""

from __future__ import annotations

from textual.widgets import Input, Select, Static

from edgemed.protocol import Category
from edgemed.service import TriageResult
from edgemed.store import Store
from edgemed.tui.app import EdgemedApp
from edgemed.tui.screens.concern import ConcernScreen
from edgemed.tui.widgets.banner import CategoryBanner

from .conftest import PASSPHRASE, USER, ready_session
from .drive import app_screen, interview, patient, settle, type_text, unlock, vitals


def _more_urgent(current: Category) -> list[Category]:
    """The levels above ``current``, one step up first (what the dialog must offer)."""
    above = [c for c in Category if c.is_more_urgent_than(current)]
    return sorted(above, key=lambda c: c.urgency, reverse=True)


def _saved_versions(app: EdgemedApp, encounter_id: str) -> list[dict[str, object]]:
    store = Store.open(app.session.log_path)
    store.unlock(USER, PASSPHRASE)
    versions = [v.record.decision for v in store.history(encounter_id)]
    store.close()
    return versions


def _result(app: EdgemedApp) -> TriageResult:
    result = app.screen.result  # type: ignore[attr-defined]
    assert isinstance(result, TriageResult)
    return result


def _banner(app: EdgemedApp) -> str:
    return str(app.screen.query_one(CategoryBanner).render())


async def test_a_red_sign_goes_straight_to_a_red_result() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "R", "45", "collapsed")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app_screen(pilot) == "SignsScreen"
        await pilot.press("space", "ctrl+n")  # the first sign: obstructed airway
        await settle(pilot)
        # No vitals screen, no questions: the saved RED result at once.
        assert app_screen(pilot) == "ResultScreen"
        result = _result(app)
        assert result.category is Category.RED and not result.incomplete
        assert "RED" in _banner(app).replace(" ", "")
        assert not app.screen.query_one("#incomplete").display
        decisions = _saved_versions(app, result.encounter_id)
    assert decisions[0]["category"] == Category.RED.value


async def test_an_adult_without_vitals_is_incomplete_never_green() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "F", "61", "fainted at the market")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")  # no emergency sign
        await pilot.pause()
        assert app_screen(pilot) == "VitalsScreen"
        await pilot.press("ctrl+n")  # nothing measured
        await settle(pilot)
        # Every vital asked: Enter on the empty value, Enter on the empty reason (unknown).
        await interview(pilot, ["enter", "enter"], sign="u")
        assert app_screen(pilot) == "ResultScreen"
        result = _result(app)
        assert result.incomplete and result.category is not Category.GREEN
        assert result.category.urgency <= Category.YELLOW.urgency
        banner = _banner(app)
        assert "INCOMPLETE" in banner and "at least YELLOW" in banner, banner
        assert "Still to measure:" in banner and "Respiratory rate" in banner
        assert "AVPU" in banner
        # Visible at 80x24 without scrolling: the banner and what to do sit above the facts.
        todo = app.screen.query_one("#incomplete", Static)
        assert todo.display and todo.region.bottom <= 24 - 1
        assert "Ctrl+F" in str(todo.render())
        decisions = _saved_versions(app, result.encounter_id)
    assert decisions[0]["incomplete"] is True
    assert decisions[0]["category"] != Category.GREEN.value


async def test_clinical_concern_raises_and_saves_a_new_version() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "C", "30", "sprained ankle")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await vitals(pilot, ["16", "80", "120", "75", "36.8", "98", "A", "walking"])
        await pilot.press("ctrl+n")
        await settle(pilot)
        await interview(pilot, ["enter", "enter"], sign="n")
        assert app_screen(pilot) == "ResultScreen"
        before = _result(app)
        assert not before.incomplete
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert isinstance(app.screen, ConcernScreen)
        # Only more urgent levels are offered, one step up first.
        assert app.screen.levels == _more_urgent(before.category)
        assert all(c.is_more_urgent_than(before.category) for c in app.screen.levels)
        # An empty reason is refused in the dialog.
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConcernScreen)
        assert "Say why" in str(app.screen.query_one("#message").render())
        # Escape cancels: nothing changes.
        await pilot.press("escape")
        await pilot.pause()
        assert app_screen(pilot) == "ResultScreen" and _result(app) == before
        await pilot.press("ctrl+u")
        await pilot.pause()
        await pilot.press("down")  # the next level again: two steps up
        await type_text(pilot, "looks very unwell")
        await pilot.press("enter")
        await settle(pilot)
        assert app_screen(pilot) == "ResultScreen"
        after = _result(app)
        wanted = _more_urgent(before.category)[1]
        assert after.category is wanted and after.version == before.version + 1
        assert any("looks very unwell" in r for r in after.reasons)
        assert wanted.value in app.screen.query_one(CategoryBanner).classes
        shown = " ".join(str(s.render()) for s in app.screen.query("#result-facts Static"))
        assert "looks very unwell" in shown
        decisions = _saved_versions(app, after.encounter_id)
    assert decisions[0]["category"] == before.category.value
    assert decisions[-1]["category"] == wanted.value
    assert decisions[-1]["concern"] == {"category": wanted.value, "reason": "looks very unwell"}


async def test_could_not_be_measured_with_a_reason_finishes_the_decision() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "M", "40", "cough for a week")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await vitals(pilot, ["16", "80", "120", "75", "36.8", "98", "A"])  # mobility not typed
        await pilot.press("ctrl+n")
        await settle(pilot)
        for _ in range(40):
            question = app.screen.question  # type: ignore[attr-defined]
            if question is not None and question.key == "mobility":
                break
            await pilot.press(*(["enter", "enter"] if question and question.vital else ["n"]))
            await settle(pilot)
        assert question is not None and question.key == "mobility"
        await pilot.press("ctrl+u")  # could not be measured: the reason is asked
        await pilot.pause()
        assert app.focused is app.screen.query_one("#reason", Input)
        await type_text(pilot, "on a stretcher")
        await pilot.press("enter")
        await settle(pilot)
        await interview(pilot, ["enter", "enter"], sign="n")
        assert app_screen(pilot) == "ResultScreen"
        result = _result(app)
        assert not result.incomplete and "mobility" not in result.missing_fields
        assert "INCOMPLETE" not in _banner(app)
        decisions = _saved_versions(app, result.encounter_id)
    assert decisions[0]["unmeasurable"] == {"mobility": "on a stretcher"}
    assert decisions[0]["incomplete"] is False


async def test_finish_an_incomplete_result_with_ctrl_f() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "F", "50", "tired")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await vitals(pilot, ["16", "80", "120", "75", "36.8", "98", "A"])
        await pilot.press("ctrl+n")
        await settle(pilot)
        await interview(pilot, ["enter", "enter"], sign="n")
        first = _result(app)
        assert first.incomplete and first.missing_fields == ("mobility",)
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert app_screen(pilot) == "QuestionsScreen"
        assert app.screen.question.key == "mobility"  # type: ignore[attr-defined]
        await pilot.press("down", "enter")  # the pick-list: "walks unaided" after "not measured"
        await settle(pilot)
        await interview(pilot, ["enter", "enter"], sign="n")
        assert app_screen(pilot) == "ResultScreen"
        done = _result(app)
        assert not done.incomplete and done.encounter_id == first.encounter_id
        assert done.version > first.version


async def test_pregnancy_is_asked_only_where_it_can_apply() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        row = screen.query_one("#pregnant-row")
        assert row.display  # age not typed yet, sex unknown: it may apply
        await type_text(pilot, "Joe")
        await pilot.press("enter")
        await type_text(pilot, "34")
        await pilot.pause()
        assert row.display
        screen.query_one("#sex", Select).value = "male"
        await pilot.pause()
        assert not row.display  # a man: hidden
        screen.query_one("#sex", Select).value = "female"
        await pilot.pause()
        assert row.display
        age = screen.query_one("#age", Input)
        age.value = "5"
        await pilot.pause()
        assert not row.display  # a small child: hidden
        age.value = "8m"
        await pilot.pause()
        assert not row.display
        # A hidden "yes" is never sent: the man goes on without a pregnancy refusal.
        age.value = "34"
        screen.query_one("#pregnant", Select).value = "yes"
        screen.query_one("#sex", Select).value = "male"
        await pilot.pause()
        screen.query_one("#complaint", Input).focus()
        await type_text(pilot, "headache")
        await pilot.press("enter")
        await settle(pilot)
        assert app_screen(pilot) == "ProposalsScreen"
        assert app.screen.encounter.patient.pregnant is None
