"""Small questions asked over a screen: leave this patient? quit? which draft to resume?"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from edgemed.i18n import N_, _, format_time, is_rtl
from edgemed.service import Encounter
from edgemed.tui.screens.base import age_text
from edgemed.tui.text import isolate, say, show

_STEP_NAMES = {
    "patient": N_("patient"),
    "proposals": N_("proposals"),
    "signs": N_("emergency signs"),
    "vitals": N_("vital signs"),
    "questions": N_("questions"),
}


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: Enter (or y) says yes, Esc (or n) says no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "answer(True)", N_("Yes"), priority=True),
        Binding("escape,n", "answer(False)", N_("No"), priority=True),
    ]
    QUESTION = ""
    HINT = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(show(_(self.QUESTION)), classes="title")
            yield Static(show(_(self.HINT)), classes="hint")

    def on_mount(self) -> None:
        self.set_class(is_rtl(), "rtl")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class LeaveScreen(ConfirmScreen):
    """Esc on a step with typed values: leave it (kept as a draft) or stay."""

    QUESTION = N_("Leave this patient for now?")
    HINT = N_("What you typed is kept as a draft (r on the queue). Enter: leave, Esc: stay.")


class QuitScreen(ConfirmScreen):
    """Ctrl+C: quit edgemed (what is typed is kept as a draft) or stay."""

    QUESTION = N_("Quit edgemed?")
    HINT = N_("What you typed is kept as a draft. Enter: quit, Esc: stay.")


def draft_line(encounter: Encounter) -> str:
    """One draft as the nurse finds it: name, age, arrival time, the step it stopped at (each
    value isolated, so a Latin name and a time stay in place in a right-to-left line)."""
    name = encounter.patient_name or encounter.typed.get("name", "")
    parts = [
        isolate(name) if name else _("(no name yet)"),
        isolate(age_text(encounter)),
        isolate(format_time(encounter.started_at)),
    ]
    step = _STEP_NAMES.get(encounter.step)
    if step:
        parts.append(_(step))
    return " · ".join(p for p in parts if p)


class DraftsScreen(ModalScreen[Encounter | None]):
    """The open drafts, the latest arrival first: Up/Down and Enter resumes one, Esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, drafts: list[Encounter]) -> None:
        self.drafts = sorted(drafts, key=lambda e: e.started_at, reverse=True)
        super().__init__()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(show(_("Resume which patient?")), classes="title")
            yield OptionList(
                *[Option(say(draft_line(d)), id=d.draft_id) for d in self.drafts],
                id="drafts",
                compact=True,
            )
            yield Static(show(_("Up/Down, Enter resumes; Esc closes.")), classes="hint")

    def on_mount(self) -> None:
        self.set_class(is_rtl(), "rtl")
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.drafts[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
