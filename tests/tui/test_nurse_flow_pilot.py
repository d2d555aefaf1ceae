"""Issue 14 by keyboard: question N of about M and Back, nothing typed lost (Esc asks, drafts
listed, the patient on every step), required fields, Ctrl+C, pick-lists, the result at 80x24,
the queue in 80 columns."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from textual.widgets import DataTable, Input, OptionList, Select, Static, TextArea

from edgemed.i18n import set_language
from edgemed.protocol import Category
from edgemed.service import QueueEntry
from edgemed.tui.app import EdgemedApp
from edgemed.tui.screens.dialogs import DraftsScreen, LeaveScreen, QuitScreen
from edgemed.tui.screens.queue import QueueScreen, compact_wait
from edgemed.tui.widgets.banner import CategoryBanner

from .conftest import ready_session
from .drive import app_screen, patient, settle, type_text, unlock, vitals


def _text(app: EdgemedApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _to_questions(pilot: object, name: str = "John K", age: str = "34") -> None:
    await patient(pilot, name, age, "small cut on the finger")  # type: ignore[arg-type]
    await pilot.press("ctrl+n")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press("ctrl+n")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await vitals(pilot, ["14", "78", "124", "78", "36.8", "98"])  # type: ignore[arg-type]
    await pilot.press("ctrl+n")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


async def test_question_n_of_about_m_and_back() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await _to_questions(pilot)
        assert app_screen(pilot) == "QuestionsScreen"
        assert _text(app, "#progress").startswith("Question 1 of about ")
        first = app.screen.question  # type: ignore[attr-defined]
        assert first is not None
        if first.vital:
            await pilot.press("enter", "enter")
        else:
            await pilot.press("n")
        await settle(pilot)
        assert _text(app, "#progress").startswith("Question 2 of about ")
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert _text(app, "#progress").startswith("Question 1 of about ")
        assert app.screen.question.key == first.key  # type: ignore[attr-defined]
        encounter = app.screen.encounter  # type: ignore[attr-defined]
        assert first.key not in encounter.answers and first.key not in encounter.skipped
        # Back from the first question goes to the vital signs, as typed.
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert app_screen(pilot) == "VitalsScreen"
        assert app.screen.query_one("#hr", Input).value == "78"


async def test_the_patient_is_named_on_every_step() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "Grace W", "61", "fainted")
        for _ in range(4):
            who = _text(app, "#who")
            assert "Grace W" in who and "61 y" in who and "arrived" in who, who
            await pilot.press("ctrl+n")
            await settle(pilot)
            if app_screen(pilot) not in ("SignsScreen", "VitalsScreen", "QuestionsScreen"):
                break


async def test_escape_asks_and_keeps_typed_vitals_in_the_draft() -> None:
    session = ready_session()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "Mary", "34", "headache")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await vitals(pilot, ["18", "88", "130"])
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LeaveScreen)
        await pilot.press("escape")  # stay
        await pilot.pause()
        assert app_screen(pilot) == "VitalsScreen"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("enter")  # leave: kept as a draft
        await settle(pilot)
        assert app_screen(pilot) == "QueueScreen"
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, DraftsScreen)
        shown = str(app.screen.query_one(OptionList).get_option_at_index(0).prompt)
        assert "Mary" in shown and "34 y" in shown, shown
        await pilot.press("enter")
        await settle(pilot)
        assert app_screen(pilot) == "VitalsScreen"
        assert [app.screen.query_one(f"#{f}", Input).value for f in ("rr", "hr", "sbp")] == [
            "18",
            "88",
            "130",
        ]


async def test_ctrl_q_keeps_what_is_typed() -> None:
    session = ready_session()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "Peter O")
        await pilot.press("ctrl+q")
        await pilot.pause()
    session.unlock("amina", "correct horse battery")
    drafts = session.drafts()
    assert [d.typed.get("name") for d in drafts] == ["Peter O"]


async def test_name_and_complaint_are_required() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "", "34", "cough")
        assert app_screen(pilot) == "PatientScreen"
        assert "name" in _text(app, "#message")
        assert app.focused is not None and app.focused.id == "name"
        await type_text(pilot, "Ali")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app_screen(pilot) == "ProposalsScreen"


async def test_empty_complaint_is_refused() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "Ali", "34", "")
        assert app_screen(pilot) == "PatientScreen"
        assert app.focused is not None and app.focused.id == "complaint"


async def test_ctrl_c_asks_before_quitting() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app_screen(pilot) == "QueueScreen"
        await pilot.press("ctrl+c")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("language", ["fr", "sw"])
async def test_avpu_and_mobility_are_pick_lists_in_the_nurses_language(language: str) -> None:
    app = EdgemedApp(ready_session(language))
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "Ali", "34", "kikohozi")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app_screen(pilot) == "VitalsScreen"
        avpu = app.screen.query_one("#avpu", Select)
        mobility = app.screen.query_one("#mobility", Select)
        labels = [str(prompt) for prompt, _value in avpu._options]  # type: ignore[attr-defined]
        assert "A - alert" not in labels and len(labels) == 6, labels
        avpu.value = "C"
        mobility.value = "with_help"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app_screen(pilot) in ("QuestionsScreen", "ResultScreen")
        encounter = app.screen.encounter  # type: ignore[attr-defined]
        assert encounter.vitals.avpu.value == "C"
        assert encounter.vitals.mobility.value == "with_help"


async def test_avpu_question_is_a_pick_list() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "Ali", "34", "cough")
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await settle(pilot)
        for _ in range(20):
            question = app.screen.question  # type: ignore[attr-defined]
            if question is not None and question.key == "avpu":
                break
            await pilot.press(*(["enter", "enter"] if question.vital else ["n"]))
            await settle(pilot)
        assert app.screen.question.key == "avpu"  # type: ignore[attr-defined]
        choice = app.screen.query_one("#choice", OptionList)
        # "not measured" first (an Enter by mistake records nothing), then A, C, V, P, U.
        assert choice.display and choice.has_focus and choice.option_count == 6
        await pilot.press("down", "enter")  # A - alert
        await settle(pilot)
        assert app.screen.encounter.vitals.avpu.value == "A"  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["en", "fr", "sw", "ar"])
async def test_result_fits_80x24_and_the_note_has_its_own_key(language: str) -> None:
    app = EdgemedApp(ready_session(language))
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await patient(pilot, "John K", "34", "chest pain")
        await pilot.press("y", "ctrl+n")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await vitals(pilot, ["24", "112", "95", "", "38.4"])
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+n")  # decide on what is known
        await settle(pilot)
        assert app_screen(pilot) == "ResultScreen"
        screen = app.screen
        banner = screen.query_one(CategoryBanner).region
        saved = screen.query_one("#saved").region
        facts = screen.query_one("#result-facts")
        note = screen.query_one("#note", TextArea)
        assert banner.y == 0 and saved.y >= banner.bottom
        assert facts.region.y >= saved.bottom and facts.region.bottom <= note.region.y
        assert facts.max_scroll_y == 0, "reasons, actions and warnings fit without scrolling"
        assert note.region.bottom <= 23
        assert "1" in str(screen.query_one("#saved", Static).render())
        shown = {key for key, active in screen.active_bindings.items() if active.binding.show}
        assert "ctrl+e" in shown
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert screen.maximized is note and note.has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert screen.maximized is None and app_screen(pilot) == "ResultScreen"


def _entry(waited: int, target: int, word: str) -> QueueEntry:
    now = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    return QueueEntry(
        encounter_id="e1",
        patient="Abdulrahman Mohammed Ali",
        complaint="chest pain since this morning and vomiting",
        category=Category.RED,
        word=word,
        arrived=now - timedelta(minutes=waited),
        waited_minutes=waited,
        target_minutes=target,
        overdue=waited > target,
        user="amina",
    )


@pytest.mark.parametrize("language", ["en", "fr", "sw", "ar", "es", "pt"])
def test_queue_row_fits_80_columns_and_overdue_is_marked(language: str) -> None:
    from edgemed.service.wording import category_word

    set_language(language)
    screen = QueueScreen.__new__(QueueScreen)
    longest = max((category_word(c) for c in Category), key=len)
    cells = QueueScreen.row(screen, _entry(240, 10, longest))
    widths = [len(str(cell)) + 2 for cell in cells]  # one space of padding each side
    assert sum(widths) <= 80, (widths, [str(c) for c in cells])
    waited = cells[-1]
    assert "!" in str(waited) and "240/10" in str(waited)
    assert "b00000" in str(waited.style)  # type: ignore[union-attr]
    assert compact_wait(5, 10).startswith("5/10")


async def test_queue_table_fits_80_columns_with_an_overdue_patient() -> None:
    session = ready_session()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        table = app.screen.query_one(DataTable)
        assert app.screen.query_one("#protocol", Static).render()
        assert table.virtual_size.width <= 80
