"""Issue 14 by keyboard: the discriminators as one checklist (Space ticks, Ctrl+N submits),
counted as one question; Back from the next question returns to it with its ticks."""

from __future__ import annotations

from textual.widgets import Static

from edgemed.protocol import Category
from edgemed.tui.app import EdgemedApp
from edgemed.tui.widgets.ticklist import TickList

from .conftest import ready_session
from .drive import app_screen, interview, patient, settle, unlock, vitals

FULL_VITALS = ["14", "78", "124", "78", "36.8", "98", "A", "walking"]


def _text(app: EdgemedApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _to_checklist(pilot: object, app: EdgemedApp) -> None:
    await unlock(pilot)  # type: ignore[arg-type]
    await patient(pilot, "Ruth A", "25", "feels unwell since yesterday")  # type: ignore[arg-type]
    await pilot.press("ctrl+n")  # type: ignore[attr-defined]  # no proposal confirmed
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press("ctrl+n")  # type: ignore[attr-defined]  # no emergency sign
    await pilot.pause()  # type: ignore[attr-defined]
    await vitals(pilot, FULL_VITALS)  # type: ignore[arg-type]
    await pilot.press("ctrl+n")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    # The capillary refill is not on the vitals screen: the interview may ask it first.
    question = app.screen.question  # type: ignore[attr-defined]
    if question is not None and question.key == "cap_refill_s":
        await pilot.press("2", "enter")  # type: ignore[attr-defined]
        await settle(pilot)  # type: ignore[arg-type]


async def _tick(pilot: object, app: EdgemedApp, finding_id: str) -> None:
    question = app.screen.question  # type: ignore[attr-defined]
    index = [c.finding_id for c in question.choices].index(finding_id)
    await pilot.press(*(["down"] * index), "space")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_one_ticked_discriminator_reaches_its_category() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_checklist(pilot, app)
        assert app_screen(pilot) == "QuestionsScreen"
        question = app.screen.question  # type: ignore[attr-defined]
        assert question is not None and question.checklist
        assert "Discriminators" in _text(app, "#question")
        # Dozens of signs, one question: "of about" counts the checklist once.
        assert len(question.choices) > 20
        number = len(app.screen.history) + 1  # type: ignore[attr-defined]
        total = number - 1 + question.remaining
        assert _text(app, "#progress") == f"Question {number} of about {total}"
        assert total <= 4
        await _tick(pilot, app, "severe_pain")
        assert app.screen.query_one(TickList).ticked == {"severe_pain"}
        await pilot.press("ctrl+n")
        await settle(pilot)
        await interview(pilot, ["enter", "enter"], sign="n")
        assert app_screen(pilot) == "ResultScreen"
        encounter = app.screen.encounter  # type: ignore[attr-defined]
        assert encounter.decision.category is Category.ORANGE
        assert encounter.answers["severe_pain"].value == "present"
        assert encounter.answers["chest_pain"].value == "absent"  # looked at, not ticked


async def test_back_from_the_next_question_returns_to_the_checklist_with_its_ticks() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_checklist(pilot, app)
        number = len(app.screen.history) + 1  # type: ignore[attr-defined]
        await _tick(pilot, app, "abdominal_pain")
        await pilot.press("ctrl+n")
        await settle(pilot)
        # Abdominal pain makes pregnancy matter: asked on its own, after the checklist.
        assert app.screen.question.key == "pregnant"  # type: ignore[attr-defined]
        assert _text(app, "#progress").startswith(f"Question {number + 1} of about ")
        await pilot.press("ctrl+b")
        await settle(pilot)
        question = app.screen.question  # type: ignore[attr-defined]
        assert question.checklist
        assert _text(app, "#progress").startswith(f"Question {number} of about ")
        assert app.screen.query_one(TickList).ticked == {"abdominal_pain"}
        assert "abdominal_pain" not in app.screen.encounter.answers  # type: ignore[attr-defined]
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("n")  # not pregnant
        await settle(pilot)
        await interview(pilot, ["enter", "enter"], sign="n")
        assert app_screen(pilot) == "ResultScreen"
        assert app.screen.encounter.decision.category is Category.YELLOW  # type: ignore[attr-defined]
