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
from edgemed.tui.text import say, show

_STYLES = {
    "red": "bold white on #b00000",
    "orange": "bold black on #d05a00",
    "yellow": "bold black on #e0c000",
    "green": "bold white on #007a33",
}


class QueueScreen(EdgemedScreen):
    """Home: a new encounter is one key away."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", N_("New patient")),
        Binding("r", "resume", N_("Resume draft")),
        Binding("h", "history", N_("History")),
        Binding("s", "settings", N_("Settings")),
    ]

    def compose(self) -> ComposeResult:
        settings = self.session.settings
        title = _("Today's queue - {clinic} - {user}").format(
            clinic=settings.clinic_name or "edgemed", user=self.session.user or ""
        )
        yield Static(show(title), classes="title")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Static("", id="summary", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        for label in (_("Category"), _("Patient"), _("Complaint"), _("Arrived"), _("Waited")):
            table.add_column(say(label))
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
        waited = _("{waited} of {target} min").format(
            waited=entry.waited_minutes, target=entry.target_minutes
        )
        waited_text = Text(say(waited))
        if entry.overdue:
            waited_text = Text("! " + say(waited) + " " + say(_("OVERDUE")), style="bold red")
        return (
            category,
            Text(say(entry.patient or "-")),
            Text(say(entry.complaint[:30])),
            format_time(entry.arrived),
            waited_text,
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from edgemed.tui.screens.history import DetailScreen

        if event.row_key.value:
            self.app.push_screen(DetailScreen(event.row_key.value))

    def action_new(self) -> None:
        from edgemed.tui.screens.patient import PatientScreen

        self.app.push_screen(PatientScreen(self.session.new_encounter()))

    def action_resume(self) -> None:
        from edgemed.tui.screens.steps import screen_for

        try:
            drafts = self.session.drafts()
        except EdgemedError as error:
            self.report(error)
            return
        if not drafts:
            self.notify(say(_("No unfinished encounter.")))
            return
        self.app.push_screen(screen_for(drafts[0]))

    def action_history(self) -> None:
        from edgemed.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen())

    def action_settings(self) -> None:
        from edgemed.tui.screens.settings import SettingsScreen

        self.app.push_screen(SettingsScreen())
