"""Keyboard-only walks through the app, shared by the pilot and snapshot tests."""

from __future__ import annotations

from textual.pilot import Pilot

from edgemed.tui.app import EdgemedApp

from .conftest import PASSPHRASE, USER


async def settle(pilot: Pilot[None]) -> None:
    """Wait for workers (unlock, proposals, saving, the note) and the screen to catch up."""
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*[("space" if c == " " else c) for c in text])


async def unlock(pilot: Pilot[None]) -> None:
    await type_text(pilot, USER)
    await pilot.press("enter")
    await type_text(pilot, PASSPHRASE)
    await pilot.press("enter")
    await settle(pilot)


async def patient(pilot: Pilot[None], name: str, age: str, complaint: str) -> None:
    await pilot.press("n")
    await pilot.pause()
    await type_text(pilot, name)
    await pilot.press("enter")
    await type_text(pilot, age)
    await pilot.press("enter")
    # Tab to the complaint: the pregnancy question is there only where it can apply.
    for _ in range(6):
        focused = pilot.app.focused
        if focused is not None and focused.id == "complaint":
            break
        await pilot.press("tab")
    await type_text(pilot, complaint)
    await pilot.press("enter")
    await settle(pilot)


async def vitals(pilot: Pilot[None], values: list[str]) -> None:
    """Type the vitals in order; AVPU and mobility are pick-lists: the value ("A", "walking")
    is chosen by keyboard (Enter opens the list, Down to it, Enter), empty leaves it."""
    from textual.widgets import Select

    from edgemed.service.flow import VITAL_CHOICES as CHOICES

    for value in values:
        focused = pilot.app.focused
        if isinstance(focused, Select) and focused.id in CHOICES:
            if value:
                wanted = [v.lower() for _text, v in CHOICES[focused.id]].index(value.lower())
                await pilot.press("enter")
                await pilot.pause()
                await pilot.press(*(["down"] * (wanted + 1)), "enter")
                await pilot.pause()
            await pilot.press("tab")
            continue
        await type_text(pilot, value)
        await pilot.press("enter")
    await pilot.pause()


def app_screen(pilot: Pilot[None]) -> str:
    assert isinstance(pilot.app, EdgemedApp)
    return type(pilot.app.screen).__name__


async def interview(pilot: Pilot[None], vital: list[str], sign: str = "n") -> None:
    """Answer the interview until the result: each asked vital with the keys in ``vital``
    (e.g. ["enter", "enter"]: not measured, no reason), each sign with ``sign``; the
    discriminator checklist is submitted as it stands (Ctrl+N: unticked = absent)."""
    for _ in range(80):
        if app_screen(pilot) != "QuestionsScreen":
            return
        question = pilot.app.screen.question  # type: ignore[attr-defined]
        if question is not None and question.checklist:
            await pilot.press("ctrl+n")
        elif question is not None and question.vital:
            await pilot.press(*vital)
        else:
            await pilot.press(sign)
        await settle(pilot)
