"""Issue 14: Arabic typed into a field is drawn joined and right to left where the terminal does
not lay it out itself, while the value (what is saved, what the understanding module reads)
stays what the nurse typed; editing keeps working; left-to-right languages draw as before. The
checklist's tick box starts the line: on the right in Arabic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from edgemed.i18n import set_language
from edgemed.service import Session
from edgemed.tui.app import EdgemedApp
from edgemed.tui.screens.patient import PatientScreen
from edgemed.tui.text import evidence, typed
from edgemed.tui.widgets.entry import Entry
from edgemed.tui.widgets.ticklist import Tick, TickList

from .conftest import PASSPHRASE, USER, ready_session

COMPLAINT = "ألم في الصدر"
# The same words shaped (presentation forms) and in visual order, as the terminal prints them.
SHAPED = "ﺭﺪﺼﻟﺍ ﻲﻓ ﻢﻟﺃ"


@pytest.fixture
def no_terminal_bidi(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("EDGEMED_BIDI", raising=False)
    yield


def _unlocked(language: str) -> Session:
    session = ready_session(language)
    session.unlock(USER, PASSPHRASE)
    return session


def _line(entry: Input) -> str:
    return entry.render_line(0).text


@pytest.mark.usefixtures("no_terminal_bidi")
async def test_typed_arabic_is_shaped_on_screen_and_kept_as_typed() -> None:
    session = _unlocked("ar")
    encounter = session.new_encounter()
    encounter.started_at = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.push_screen(PatientScreen(encounter))
        await pilot.pause()
        field = app.screen.query_one("#complaint", Input)
        assert isinstance(field, Entry)
        field.focus()
        await pilot.press(*[("space" if c == " " else c) for c in COMPLAINT])
        await pilot.pause()

        assert field.value == COMPLAINT
        line = _line(field)
        # Joined letters, right to left; the cursor's free cell on the left (the typing end).
        assert SHAPED in line and COMPLAINT not in line
        assert line.startswith(" " + SHAPED)
        assert field._cursor_offset == 0

        # Backspace removes the last letter typed (the leftmost drawn).
        await pilot.press("backspace")
        await pilot.pause()
        assert field.value == COMPLAINT[:-1]
        assert "ﺪﺼﻟﺍ ﻲﻓ ﻢﻟﺃ" in _line(field)
        # Home is the start of the text, on the right; the arrows move the way they point.
        await pilot.press("home")
        assert field.cursor_position == 0
        assert field._cursor_offset == len(SHAPED) - 1
        await pilot.press("left")
        assert field.cursor_position == 1
        assert field._cursor_offset == len(SHAPED) - 2
        await pilot.press("right")
        assert field.cursor_position == 0
        await pilot.press("end", "ر")
        await pilot.pause()
        assert field.value == COMPLAINT

        # What is saved is the logical, unshaped text.
        screen = app.screen
        assert isinstance(screen, PatientScreen)
        assert screen.typed_values()["complaint"] == COMPLAINT
        screen.query_one("#name", Input).value = "John K"
        screen.query_one("#age", Input).value = "34"
        screen.action_next()
        await pilot.pause()
        assert encounter.complaint == COMPLAINT


class _Fields(App[None]):
    def compose(self) -> ComposeResult:
        value = "chest pain (left) 38,4 سلام"
        yield Input(value, id="plain")
        yield Entry(value, id="entry")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_left_to_right_languages_draw_as_input_does(language: str) -> None:
    set_language(language)
    app = _Fields()
    async with app.run_test(size=(60, 6)) as pilot:
        drawn = []
        for name in ("plain", "entry"):
            field = app.query_one(f"#{name}", Input)
            field.focus()
            await pilot.press("home", "right", "right")
            await pilot.pause()
            drawn.append((list(field.render_line(0)), field._cursor_offset, field.content_width))
            await pilot.press("left")
        assert drawn[0] == drawn[1]
        assert drawn[1][1] == 2


@pytest.mark.usefixtures("no_terminal_bidi")
def test_a_terminal_that_lays_out_arabic_gets_the_value_as_typed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_language("ar")
    assert typed(COMPLAINT) is not None
    assert typed("34") is None and typed("John K") is None  # nothing right to left in it
    monkeypatch.setenv("EDGEMED_BIDI", "terminal")
    assert typed(COMPLAINT) is None


@pytest.mark.usefixtures("no_terminal_bidi")
def test_the_layout_joins_lam_alef_and_keeps_numbers_and_brackets() -> None:
    set_language("ar")
    laid = typed("لا حمى (38)")
    assert laid is not None and laid.rtl
    # One glyph for lam-alef, the number left to right, the brackets facing the right way.
    assert laid.line == " (38) ﻰﻤﺣ ﻻ"
    assert laid.cursor[0] == laid.cursor[1] == len(laid.line) - 1
    assert laid.cursor[-1] == 0


class _Ticks(App[None]):
    def compose(self) -> ComposeResult:
        yield TickList([("a", "ﻢﻟﺃ", True), ("b", "ﻰﻤﺣ", False)])


@pytest.mark.usefixtures("no_terminal_bidi")
@pytest.mark.parametrize(
    ("language", "ticked", "unticked"),
    [("ar", "ﻢﻟﺃ [x]", "ﻰﻤﺣ [ ]"), ("en", "[x] ﻢﻟﺃ", "[ ] ﻰﻤﺣ"), ("fr", "[x] ﻢﻟﺃ", "[ ] ﻰﻤﺣ")],
)
async def test_the_tick_box_starts_the_line(language: str, ticked: str, unticked: str) -> None:
    set_language(language)
    app = _Ticks()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        texts = [str(t.text()) for t in app.query(Tick)]
        assert texts == [ticked, unticked]


@pytest.mark.usefixtures("no_terminal_bidi")
def test_the_evidence_under_a_proposal_is_shaped_with_its_words_highlighted() -> None:
    set_language("ar")
    start = COMPLAINT.index("الصدر")
    shown = evidence(COMPLAINT, (start, len(COMPLAINT)))
    assert shown.plain == SHAPED
    highlighted = {i for span in shown.spans for i in range(span.start, span.end)}
    # "الصدر" is the last word typed: the leftmost drawn.
    assert highlighted == set(range(len("الصدر")))
    set_language("en")
    plain = evidence("chest pain", (0, 5))
    assert plain.plain == "chest pain" and [(s.start, s.end) for s in plain.spans] == [(0, 5)]
