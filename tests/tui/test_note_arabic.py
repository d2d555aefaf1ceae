"""Issue 14: the handover note in Arabic is drawn joined and right to left where the terminal does
not lay it out itself (each wrapped line against the right edge, the cursor on the cell of its
character, Left and Right the way they point), while the note itself (what is saved, what goes
into the encrypted log) stays what the model wrote and the nurse typed. Left-to-right languages
and a terminal that reorders itself draw exactly as Textual's TextArea."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import TextArea

from edgemed.i18n import set_language
from edgemed.store import Store
from edgemed.tui.app import EdgemedApp
from edgemed.tui.screens.result import ResultScreen
from edgemed.tui.widgets.note import NoteArea

from .conftest import PASSPHRASE, USER, ready_session
from .drive import app_screen, settle, type_text

# Arabic presentation forms (shaped letters, as the terminal prints them).
_FORMS = range(0xFE70, 0xFF00)


@pytest.fixture
def no_terminal_bidi(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("EDGEMED_BIDI", raising=False)
    yield


def _shaped(text: str) -> bool:
    return any(ord(char) in _FORMS for char in text)


def _rows(area: TextArea) -> list[str]:
    return [area.render_line(y).text for y in range(area.scrollable_content_region.height)]


def _cursor_cell(strip: Strip, area: TextArea) -> int | None:
    """The cell drawn in the cursor's style on a rendered row."""
    theme = area._theme
    assert theme is not None and theme.cursor_style is not None
    x = 0
    for segment in strip:
        if segment.style and segment.style.bgcolor == theme.cursor_style.bgcolor:
            return x
        x += len(segment.text)
    return None


@pytest.mark.usefixtures("no_terminal_bidi")
async def test_the_arabic_note_is_shaped_right_to_left_and_saved_as_written() -> None:
    session = ready_session("ar")
    session.unlock(USER, PASSPHRASE)
    encounter = session.new_encounter()
    encounter.started_at = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    session.set_patient(encounter, name="John K", age="34", complaint="ألم في الصدر")
    session.set_signs(encounter, set())
    session.set_vitals(encounter, {})
    result = session.finish(encounter)
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.push_screen(ResultScreen(encounter, result))
        await settle(pilot)
        screen = app.screen
        area = screen.query_one("#note", TextArea)
        assert isinstance(area, NoteArea)
        area.cursor_blink = False
        await pilot.press("ctrl+e")  # the note on the whole screen, to read and edit
        await pilot.pause()
        assert screen.maximized is area and area.has_focus
        written = area.text
        # The note is the protocol's facts, in Arabic, as written (logical order, unshaped).
        assert "التسليم: John K" in written and "ألم في الصدر" in written
        rows = [row.rstrip() for row in _rows(area)]
        drawn = "\n".join(rows)
        assert _shaped(drawn) and "التسليم" not in drawn
        # Joined letters in visual order, each line against the right edge.
        width = area.scrollable_content_region.width
        assert rows[0].endswith("John K :ﻢﻴﻠﺴﺘﻟﺍ") and len(rows[0]) == width
        assert "ﺭﺪﺼﻟﺍ ﻲﻓ ﻢﻟﺃ" in drawn
        # The cursor at the start of the note: on its first letter, drawn rightmost.
        area.move_cursor((0, 0))
        await pilot.pause()
        assert _cursor_cell(area.render_line(0), area) == width - 1
        # Left moves on through the text (the way it points, right to left); Right comes back.
        await pilot.press("left")
        assert area.cursor_location == (0, 1)
        assert _cursor_cell(area.render_line(0), area) == width - 2
        await pilot.press("right")
        assert area.cursor_location == (0, 0)

        # Typing Arabic at the end of the note: drawn on the left of the last line, joined.
        area.move_cursor(area.document.end)
        await pilot.pause()
        await type_text(pilot, " تمتا")
        await pilot.press("backspace")
        await type_text(pilot, " المراجعة")
        await pilot.pause()
        assert area.text == written + " تمت المراجعة"
        last_row, last = area.cursor_location
        _, cursor_y = area._cursor_offset
        row = area.render_line(cursor_y - area.scroll_offset.y)
        assert "ﺔﻌﺟﺍﺮﻤﻟﺍ ﺖﻤﺗ" in row.text
        # The cursor after the last letter typed: the free cell just left of that word.
        assert _cursor_cell(row, area) == row.text.index("ﺔﻌﺟﺍﺮﻤﻟﺍ ﺖﻤﺗ") - 1
        assert (last_row, last) == area.document.end
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app_screen(pilot) == "QueueScreen"
    # What is saved is what was written and typed: logical order, unshaped.
    assert encounter.note == written + " تمت المراجعة"
    store = Store.open(session.log_path)
    store.unlock(USER, PASSPHRASE)
    latest = store.history(result.encounter_id)[-1].record
    store.close()
    assert latest.handover_note == written + " تمت المراجعة"
    assert not _shaped(latest.handover_note)


NOTE = (
    "Handover: John K, 34 y\n"
    "Complaint: chest pain since this morning (left side), no fever; walking and talking\n"
    "\n"
    "Triage: ORANGE - very urgent, within 10 minutes"
)


class _Notes(App[None]):
    def __init__(self, text: str) -> None:
        self.note = text
        super().__init__()

    def compose(self) -> ComposeResult:
        yield TextArea(self.note, id="plain")
        yield NoteArea(self.note, id="note")

    def on_mount(self) -> None:
        for area in self.query(TextArea):
            area.cursor_blink = False


async def _drawn(app: _Notes, keys: list[str]) -> list[tuple[object, ...]]:
    drawn: list[tuple[object, ...]] = []
    async with app.run_test(size=(50, 20)) as pilot:
        for name in ("plain", "note"):
            area = app.query_one(f"#{name}", TextArea)
            area.focus()
            await pilot.press(*keys)
            await pilot.pause()
            drawn.append(
                (
                    [list(area.render_line(y)) for y in range(area.size.height)],
                    area.cursor_location,
                    area.cursor_screen_offset - area.region.offset,
                    area.selection,
                )
            )
    return drawn


@pytest.mark.parametrize("language", ["en", "fr", "sw"])
async def test_left_to_right_languages_draw_as_a_text_area(language: str) -> None:
    set_language(language)
    keys = ["down", "right", "right", "shift+right", "shift+down"]
    plain, note = await _drawn(_Notes(NOTE), keys)
    assert plain == note
    assert note[1] == (1, 44)  # wrapped: down from the second row of the second line


@pytest.mark.usefixtures("no_terminal_bidi")
async def test_a_terminal_that_lays_out_arabic_gets_the_note_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_language("ar")
    monkeypatch.setenv("EDGEMED_BIDI", "terminal")
    text = "التسليم: John K\nالشكوى: ألم في الصدر"
    plain, note = await _drawn(_Notes(text), ["down", "left", "left"])
    assert plain == note
    assert note[1] == (0, 14)  # not mirrored: the terminal lays the line out


@pytest.mark.usefixtures("no_terminal_bidi")
async def test_left_to_right_lines_of_an_arabic_note_stay_on_the_left() -> None:
    set_language("ar")
    app = _Notes("BP 120/80\nالنبض 112")
    async with app.run_test(size=(50, 20)) as pilot:
        area = app.query_one("#note", TextArea)
        plain = app.query_one("#plain", TextArea)
        plain.focus()
        await pilot.pause()
        first = list(plain.render_line(0))
        area.focus()
        await pilot.pause()
        # A line starting with a Latin letter reads left to right: drawn as TextArea draws it.
        assert list(area.render_line(0)) == first
        second = area.render_line(1).text.rstrip()
        assert second.endswith("112 ﺾﺒﻨﻟﺍ") and len(second) == area.size.width
        # Its arrows are not mirrored; those of the Arabic line are.
        await pilot.press("right")
        assert area.cursor_location == (0, 1)
        area.move_cursor((1, 0))
        await pilot.press("left")
        assert area.cursor_location == (1, 1)


@pytest.mark.usefixtures("no_terminal_bidi")
async def test_a_selection_in_arabic_is_drawn_on_its_characters() -> None:
    set_language("ar")
    app = _Notes("ألم في الصدر")
    async with app.run_test(size=(50, 20)) as pilot:
        area = app.query_one("#note", TextArea)
        area.focus()
        await pilot.press("home", "shift+left", "shift+left", "shift+left")
        await pilot.pause()
        assert area.selected_text == "ألم"
        theme = area._theme
        assert theme is not None and theme.selection_style is not None
        strip = area.render_line(0)
        width = area.size.width
        selected, x = [], 0
        for segment in strip:
            if segment.style and segment.style.bgcolor == theme.selection_style.bgcolor:
                selected += range(x, x + len(segment.text))
            x += len(segment.text)
        # The first word, drawn rightmost: its three letters, the cursor after them.
        assert strip.text.rstrip().endswith("ﺭﺪﺼﻟﺍ ﻲﻓ ﻢﻟﺃ")
        assert selected == [width - 3, width - 2, width - 1]
        assert _cursor_cell(strip, area) == width - 4
