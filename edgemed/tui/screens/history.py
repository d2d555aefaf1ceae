"""History with search, and one saved encounter in full (corrections start from here)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Input, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _, format_time
from edgemed.tui.screens.base import EdgemedScreen
from edgemed.tui.screens.messages import DetailAsked, OpenEncounter
from edgemed.tui.text import say, show
from edgemed.tui.widgets.entry import Entry


class HistoryScreen(EdgemedScreen):
    """Every saved encounter, newest first; type to search (names, complaints, notes)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", N_("Back"))]

    def compose(self) -> ComposeResult:
        yield Static(show(_("History")), classes="title")
        yield Entry(
            placeholder=say(_("Search: name, complaint, note; Enter")),
            id="search",
            compact=True,
        )
        yield DataTable(id="history", cursor_type="row")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        for label in (_("Saved"), _("Category"), _("Patient"), _("Complaint"), _("Nurse")):
            table.add_column(say(label))
        self.fill("")
        self.query_one("#search", Input).focus()

    def fill(self, search: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        try:
            entries = self.session.history(search)
        except EdgemedError as error:
            self.report(error)
            return
        for entry in entries:
            table.add_row(
                format_time(entry.arrived, with_date=True),
                Text(say(entry.word)),
                Text(say(entry.patient or "-")),
                Text(say(entry.complaint[:28])),
                entry.user,
                key=entry.encounter_id,
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.fill(event.value)
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.post_message(DetailAsked(event.row_key.value))

    def action_back(self) -> None:
        self.dismiss()


class DetailScreen(EdgemedScreen):
    """One saved encounter; c starts a correction, saved as a new version."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "correct", N_("Correct")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, encounter_id: str) -> None:
        self.encounter_id = encounter_id
        super().__init__()

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            try:
                detail = self.session.detail(self.encounter_id)
            except EdgemedError as error:
                self.report(error)
                return
            yield Static(
                show(
                    _("{word} - {patient}").format(
                        word=detail.word.upper(), patient=detail.patient or "-"
                    )
                ),
                classes="title",
            )
            yield Static(
                show(
                    _(
                        "Saved {when} by {user}, version {version}; {protocol}; model: {model}"
                    ).format(
                        when=detail.saved,
                        user=detail.user,
                        version=detail.version,
                        protocol=detail.protocol,
                        model=detail.model or _("rules only"),
                    )
                ),
                classes="hint",
            )
            yield Static(show(_("Complaint: {text}").format(text=detail.complaint)))
            for heading, lines in (
                (_("Why:"), detail.reasons),
                (_("Findings:"), detail.findings),
                (_("Vital signs:"), detail.vitals),
            ):
                yield Static(show(heading), classes="title")
                for line in lines:
                    yield Static(show("- " + line))
            yield Static(show(_("Handover note:")), classes="title")
            yield Static(show(detail.note or "-"))
        yield Footer(compact=True)

    def action_correct(self) -> None:
        try:
            encounter = self.session.start_correction(self.encounter_id)
        except EdgemedError as error:
            self.report(error)
            return
        self.post_message(OpenEncounter(encounter, replace=True))

    def action_back(self) -> None:
        self.dismiss()
