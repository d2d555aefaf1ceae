"""Clinical concern: the nurse raises the category (never lowers it) and says why.

Only the levels more urgent than the current one are offered; the reason is required and kept
in the record. Confirming saves the raised decision as a new version at once (a worker: it is an
encrypted, fsynced write); Escape cancels and nothing changes.
"""

from __future__ import annotations

from typing import ClassVar, cast

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _, is_rtl
from edgemed.protocol import Category
from edgemed.service import Encounter, Session, TriageResult
from edgemed.tui.screens.base import HasSession
from edgemed.tui.text import say, show
from edgemed.tui.widgets.entry import Entry


class ConcernScreen(ModalScreen[TriageResult | None]):
    """Up/Down picks the level (one step up is offered first), then the reason and Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel")),
    ]

    def __init__(self, encounter: Encounter, current: Category) -> None:
        self.encounter = encounter
        super().__init__()
        # Only the levels more urgent than the current one, one step up first.
        self.choices = self.session.raise_choices(current)
        self.levels = [category for category, _text in self.choices]

    @property
    def session(self) -> Session:
        return cast(HasSession, self.app).session

    def compose(self) -> ComposeResult:
        with Vertical(id="concern"):
            yield Static(show(_("Clinical concern: raise the category")), classes="title")
            yield Static(
                show(_("Choose a more urgent level (Up/Down), type why, then Enter. Esc cancels.")),
                classes="hint",
            )
            yield OptionList(
                *[Option(say(text), id=c.value) for c, text in self.choices],
                id="levels",
                compact=True,
            )
            yield Static(show(_("Reason (kept in the record):")))
            yield Entry(id="reason", compact=True)
            yield Static("", id="message", classes="error")

    def on_mount(self) -> None:
        self.set_class(is_rtl(), "rtl")
        levels = self.query_one("#levels", OptionList)
        levels.highlighted = 0
        self.query_one("#reason", Input).focus()

    def on_key(self, event: events.Key) -> None:
        # Up/Down choose the level even while the reason is being typed.
        levels = self.query_one("#levels", OptionList)
        if event.key in ("up", "down") and not levels.has_focus:
            event.stop()
            if event.key == "up":
                levels.action_cursor_up()
            else:
                levels.action_cursor_down()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#reason", Input).focus()

    @property
    def chosen(self) -> Category | None:
        index = self.query_one("#levels", OptionList).highlighted
        if index is None or not 0 <= index < len(self.levels):
            return None
        return self.levels[index]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        category = self.chosen
        if category is None:
            return
        self.query_one("#message", Static).update(show(_("Saving...")))
        self.confirm(category, event.value)

    @work(thread=True, exclusive=True)
    def confirm(self, category: Category, reason: str) -> None:
        try:
            result = self.session.raise_concern(self.encounter, category, reason)
        except EdgemedError as error:
            self.app.call_from_thread(self.refused, error.message)
            return
        self.app.call_from_thread(self.dismiss, result)

    def refused(self, message: str) -> None:
        self.query_one("#message", Static).update(show(message))
        self.query_one("#reason", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
