"""Step 3: the protocol's emergency signs; any one ticked makes the patient RED and ends the
interview at once (straight to the saved result: no vitals screen first)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.screens.messages import StepDone
from edgemed.tui.text import say, show
from edgemed.tui.widgets.ticklist import TickList


class SignsScreen(EncounterScreen):
    """Look for each sign; tick (space) the ones present. Unticked ones are recorded absent."""

    def compose(self) -> ComposeResult:
        yield self.who()
        yield Static(
            show(_("Emergency signs: tick every one present (space), then Ctrl+N")), classes="title"
        )
        try:
            signs = self.session.emergency_signs(self.encounter)
        except EdgemedError as error:
            self.report(error)
            signs = []
        yield TickList([(s.finding_id, say(s.label), s.ticked) for s in signs], id="signs")
        yield Static("", id="message", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(TickList).focus()

    def action_next(self) -> None:
        ticked = self.query_one(TickList).ticked
        try:
            red = self.session.set_signs(self.encounter, ticked)
        except EdgemedError as error:
            self.report(error)
            return
        if red:
            # A red sign ends the interview: RED now, the vitals come after emergency care.
            self.query_one("#message", Static).update(show(_("Red sign: deciding and saving...")))
            self.finish()
            return
        self.post_message(StepDone(self.encounter))
