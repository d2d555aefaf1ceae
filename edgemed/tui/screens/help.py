"""Help: every key, on one screen."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from edgemed.i18n import N_, _
from edgemed.tui.text import show

KEYS: tuple[tuple[str, str], ...] = (
    ("F1", N_("this help")),
    ("Ctrl+L", N_("lock now (switch user)")),
    ("Ctrl+Q", N_("quit")),
    ("n", N_("queue: new patient")),
    ("r", N_("queue: resume an unfinished encounter")),
    ("h / s", N_("queue: history / settings")),
    ("Enter", N_("open the selected patient; next field")),
    ("Tab", N_("next field or button")),
    ("Ctrl+N", N_("encounter: next step")),
    ("Ctrl+B", N_("encounter: back to the previous question or step")),
    ("y / n", N_("confirm / reject a proposal; answer yes / no")),
    ("u", N_("answer: not known")),
    ("Ctrl+U", N_("vital: could not be measured (reason); result: clinical concern")),
    ("Ctrl+F", N_("result: finish an INCOMPLETE decision")),
    ("Space", N_("tick an emergency sign or a discriminator")),
    ("Ctrl+E", N_("result: open the handover note full screen")),
    ("Ctrl+T/R", N_("stop / write again the handover note")),
    ("Ctrl+S", N_("save the note or the settings")),
    ("c", N_("encounter detail: correct (new version)")),
    ("Esc", N_("back; an encounter is kept as a draft")),
)


class HelpScreen(ModalScreen[None]):
    """Any key closes it."""

    def compose(self) -> ComposeResult:
        # One widget for the whole list: the help must open at once, even while a note streams.
        lines = Content("\n").join(Content(f"{key:<8} ") + show(_(what)) for key, what in KEYS)
        with Vertical():
            yield Static(show(_("Keys")), classes="title")
            yield Static(lines)

    def on_key(self, event: events.Key) -> None:
        # Handled here only: the key must not also reach a binding of the screen beneath.
        event.stop()
        event.prevent_default()
        if self.is_current:
            self.dismiss()
