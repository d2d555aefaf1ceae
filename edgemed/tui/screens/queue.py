"""The queue (home): today's patients, most urgent first, waiting time against the target time."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _, format_time, ngettext
from edgemed.service import QueueEntry
from edgemed.tui.screens.base import EdgemedScreen
from edgemed.tui.screens.messages import (
    DetailAsked,
    DraftsAsked,
    HistoryAsked,
    OpenEncounter,
    SettingsAsked,
    ShowQueue,
)
from edgemed.tui.text import say, show

_STYLES = {
    "red": "bold white on #b00000",
    "orange": "bold black on #d05a00",
    "yellow": "bold black on #e0c000",
    "green": "bold white on #007a33",
}


# Column widths that keep the table inside 80 columns with the longest category word.
PATIENT_WIDTH = 14
COMPLAINT_WIDTH = 20
COLUMN_WIDTH = 14


def compact_wait(waited: int, target: int) -> str:
    """Waited against the target, in minutes: "12/60 min" (capped at 999: three digits)."""
    return _("{waited}/{target} min").format(waited=min(waited, 999), target=target)


class QueueScreen(EdgemedScreen):
    """Home: a new encounter is one key away."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", N_("New")),
        Binding("r", "resume", N_("Resume draft")),
        Binding("h", "history", N_("History")),
        Binding("s", "settings", N_("Settings")),
        Binding("x", "seen", N_("Seen")),
        Binding("w", "left", N_("Left unseen")),
    ]

    def compose(self) -> ComposeResult:
        settings = self.session.settings
        title = _("Today's queue - {clinic} - {user}").format(
            clinic=settings.clinic_name or "edgemed", user=self.session.user or ""
        )
        yield Static(show(title), classes="title")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Static("", id="summary", classes="hint")
        yield Static(show(self.session.protocol_status()), id="protocol", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        for label in (_("Category"), _("Patient"), _("Complaint"), _("Arrived"), _("Waited")):
            table.add_column(say(label)[:COLUMN_WIDTH])
        try:
            entries = self.session.queue()
            drafts = len(self.session.drafts())
        except EdgemedError as error:
            self.report(error)
            return
        for entry in entries:
            table.add_row(*self.row(entry), key=entry.encounter_id)
        overdue = sum(1 for e in entries if e.overdue)
        summary = ngettext(
            "{count} patient today, {overdue} past the target time.",
            "{count} patients today, {overdue} past the target time.",
            len(entries),
        ).format(count=len(entries), overdue=overdue)
        if overdue:
            summary += " " + _("! = past the target time.")
        if drafts:
            summary += " " + _("{count} unfinished: press r to resume.").format(count=drafts)
        if not entries:
            summary = _("No patients yet today. Press n for a new patient.") + (
                " " + _("{count} unfinished: press r to resume.").format(count=drafts)
                if drafts
                else ""
            )
        self.query_one("#summary", Static).update(show(summary))
        table.focus()

    def row(self, entry: QueueEntry) -> tuple[Text, Text, Text, str, Text]:
        category = Text(f" {say(entry.word)} ", style=_STYLES[entry.category.value])
        # Compact, so it fits 80 columns in every language: waited/target in minutes.
        waited = compact_wait(entry.waited_minutes, entry.target_minutes)
        if entry.overdue:
            waited_text = Text(say("! " + waited), style="bold white on #b00000")
        else:
            waited_text = Text(say("  " + waited))
        return (
            category,
            Text(say(entry.patient[:PATIENT_WIDTH] or "-")),
            Text(say(entry.complaint[:COMPLAINT_WIDTH])),
            format_time(entry.arrived),
            waited_text,
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.post_message(DetailAsked(event.row_key.value))

    def action_new(self) -> None:
        self.post_message(OpenEncounter(self.session.new_encounter()))

    def action_resume(self) -> None:
        try:
            drafts = self.session.drafts()
        except EdgemedError as error:
            self.report(error)
            return
        if not drafts:
            self.notify(say(_("No unfinished encounter.")))
            return
        self.post_message(DraftsAsked(drafts))

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _column = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def action_seen(self) -> None:
        self._close_out(left=False)

    def action_left(self) -> None:
        self._close_out(left=True)

    def _close_out(self, *, left: bool) -> None:
        """Take the highlighted patient off today's queue (kept in the log and the history)."""
        encounter_id = self._selected()
        if encounter_id is None:
            return
        try:
            self.session.mark_seen(encounter_id, left=left)
        except EdgemedError as error:
            self.report(error)
            return
        message = (
            _("Left without being seen: off the queue.") if left else _("Seen: off the queue.")
        )
        self.notify(say(message))
        self.post_message(ShowQueue())

    def action_history(self) -> None:
        self.post_message(HistoryAsked())

    def action_settings(self) -> None:
        self.post_message(SettingsAsked())
