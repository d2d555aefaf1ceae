"""Step 6: the decision (already saved), what to do now, and the handover note.

The note streams from the local model in a worker, so keys keep working while it comes; Stop
ends it within the engine's 200 ms contract, and the nurse edits it before saving.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static, TextArea

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _
from edgemed.service import Encounter, TriageResult
from edgemed.tui.screens.base import EdgemedScreen
from edgemed.tui.text import say, show
from edgemed.tui.widgets.banner import CategoryBanner


class ResultScreen(EdgemedScreen):
    """The category as a large label with its word, the reasons, target time and actions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "stop", N_("Stop note"), priority=True),
        Binding("ctrl+r", "write", N_("Rewrite note"), priority=True),
        Binding("ctrl+s", "save", N_("Save note"), priority=True),
        Binding("escape", "done", N_("Queue")),
    ]

    def __init__(self, encounter: Encounter, result: TriageResult) -> None:
        self.encounter = encounter
        self.result = result
        self.streaming = False
        self.stop_requested = False
        super().__init__()

    def compose(self) -> ComposeResult:
        result = self.result
        yield CategoryBanner(result)
        with VerticalScroll(id="result-facts"):
            yield Static(show(_("Why:")), classes="title")
            for reason in result.reasons:
                yield Static(show("- " + reason))
            yield Static(show(_("Do now:")), classes="title")
            for action in result.actions:
                yield Static(show("- " + action))
            for warning in result.warnings:
                yield Static(show("! " + warning), classes="warning")
            yield Static(
                show(
                    _("Saved, encrypted (version {version}); protocol {protocol}.").format(
                        version=result.version, protocol=result.protocol
                    )
                ),
                classes="hint",
            )
        yield Static(show(_("Handover note (edit before saving):")), id="note-title")
        yield TextArea(
            self.encounter.note if self.encounter.step == "saved" else "", id="note", read_only=True
        )
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.action_write()

    def action_write(self) -> None:
        if self.streaming:
            return
        area = self.query_one("#note", TextArea)
        area.read_only = True
        area.text = ""
        self.streaming = True
        self.stop_requested = False
        self.query_one("#note-title", Static).update(
            show(_("Writing the handover note... (Ctrl+T stops)"))
        )
        self.write_note()

    @work(thread=True, exclusive=True, group="note")
    def write_note(self) -> None:
        try:
            for piece in self.session.stream_note(self.encounter):
                self.app.call_from_thread(self.append, piece)
                # Stop pressed while the model was still loading reaches the engine here.
                if self.stop_requested:
                    self.session.stop_note()
                    break
        except EdgemedError as error:
            self.app.call_from_thread(self.report, error)
        self.app.call_from_thread(self.note_done)

    def append(self, piece: str) -> None:
        area = self.query_one("#note", TextArea)
        area.insert(piece, area.document.end)

    def note_done(self) -> None:
        self.streaming = False
        if self.session.model_problem:
            self.notify(
                say(
                    _("The language model could not be used; the note is the protocol's facts.")
                    + " "
                    + self.session.model_problem
                ),
                severity="warning",
                markup=False,
            )
        area = self.query_one("#note", TextArea)
        area.read_only = False
        self.query_one("#note-title", Static).update(
            show(_("Handover note: edit it, then Ctrl+S saves."))
        )
        area.focus()

    def action_stop(self) -> None:
        if self.streaming:
            self.stop_requested = True
            self.session.stop_note()

    def action_save(self) -> None:
        if self.streaming:
            self.action_stop()
        self.save_note(self.query_one("#note", TextArea).text)

    # Saving is an encrypted, fsynced write: off the UI thread like every disk step that waits.
    @work(thread=True, exclusive=True, group="save")
    def save_note(self, note: str) -> None:
        try:
            version = self.session.save_note(self.encounter, note)
        except EdgemedError as error:
            self.app.call_from_thread(self.report, error)
            return
        self.app.call_from_thread(self.saved, version)

    def saved(self, version: int) -> None:
        self.notify(say(_("Note saved (version {version}).").format(version=version)))
        self.edgemed.show_queue()

    def action_done(self) -> None:
        if self.streaming:
            self.session.stop_note()
        self.edgemed.show_queue()
