"""One proposed finding: what was proposed, how sure, the evidence, and the nurse's verdict."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import ListItem, Static

from edgemed.i18n import _
from edgemed.service import ProposalStatus, ProposedFinding
from edgemed.tui.text import drawn_right_to_left, evidence, say


def mark(status: ProposalStatus) -> str:
    """The nurse's verdict, written (never colour alone), in the nurse's language."""
    if status is ProposalStatus.CONFIRMED:
        return "[" + _("yes") + "]"
    if status is ProposalStatus.REJECTED:
        return "[" + _("no") + "]"
    return "[ ? ]"


class ProposalRow(ListItem):
    """A row the nurse confirms (y) or rejects (n)."""

    def __init__(self, proposal: ProposedFinding, complaint: str) -> None:
        self.proposal = proposal
        self.complaint = complaint
        super().__init__(Static(self._render_text()))

    def _render_text(self) -> Text:
        proposal = self.proposal
        # "Label: yes / no" avoids gender agreement ("Douleur thoracique: présent").
        claim = _("yes") if proposal.present else _("no")
        verdict = say(mark(proposal.status))
        finding = say(f"{proposal.label}: {claim}")
        # How sure, never the method's internal name ("lexicon+embedding") to a nurse.
        sure = say(_("sure: {confidence}%").format(confidence=round(proposal.confidence * 100)))
        quoted = evidence(self.complaint, proposal.span)
        if drawn_right_to_left():
            # Read from the right: the verdict first, how sure last; the complaint indented.
            head = Text("", style="bold")
            head.append(sure + "  ", style="dim")
            head.append(finding + " " + verdict)
            head.append("\n")
            head.append(quoted)
            head.append("   ")
            return head
        head = Text(verdict + " ", style="bold")
        head.append(finding)
        head.append("  " + sure, style="dim")
        head.append("\n   ")
        head.append(quoted)
        return head

    def refresh_text(self) -> None:
        self.query_one(Static).update(self._render_text())
