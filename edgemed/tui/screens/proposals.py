"""Step 2: findings proposed from the complaint; each counts only once the nurse confirms it."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, ListView, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _
from edgemed.service import ProposedFinding
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.screens.messages import StepDone
from edgemed.tui.text import show
from edgemed.tui.widgets.proposal import ProposalRow


class ProposalsScreen(EncounterScreen):
    """Confirm (y) or reject (n) each proposal, looking at its highlighted evidence."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "decide(True)", N_("Confirm")),
        Binding("n", "decide(False)", N_("Reject")),
    ]

    def compose(self) -> ComposeResult:
        yield self.who()
        yield Static(
            show(_("Proposed from the complaint: confirm or reject each")), classes="title"
        )
        yield Static(show(_("Looking for findings in the text...")), id="message", classes="hint")
        yield ListView(id="proposals")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.find_proposals()

    @work(thread=True, exclusive=True)
    def find_proposals(self) -> None:
        try:
            proposals = self.session.propose(self.encounter)
        except EdgemedError as error:
            self.app.call_from_thread(self.report, error)
            proposals = list(self.encounter.proposals)
        self.app.call_from_thread(self.show_proposals, proposals)

    def show_proposals(self, proposals: list[ProposedFinding]) -> None:
        listing = self.query_one(ListView)
        listing.clear()
        for proposal in proposals:
            listing.append(ProposalRow(proposal, self.encounter.complaint))
        if proposals:
            text = _("y = confirm, n = reject, Ctrl+N = next. Unanswered ones do not count.")
        else:
            text = _("Nothing proposed from the text. Press Ctrl+N to go on to the danger signs.")
        self.query_one("#message", Static).update(show(text))
        listing.focus()
        if proposals:
            listing.index = 0

    def action_decide(self, confirm: bool) -> None:
        listing = self.query_one(ListView)
        row = listing.highlighted_child
        if not isinstance(row, ProposalRow):
            return
        try:
            self.session.decide_proposal(self.encounter, row.proposal.finding_id, confirm)
        except EdgemedError as error:
            self.report(error)
            return
        row.refresh_text()
        if listing.index is not None and listing.index + 1 < len(listing.children):
            listing.index += 1

    def action_next(self) -> None:
        try:
            self.session.proposals_done(self.encounter)
        except EdgemedError as error:
            self.report(error)
            return
        self.post_message(StepDone(self.encounter))
