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
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Footer, Static, TextArea

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _
from edgemed.protocol import Category
from edgemed.service import Encounter, TriageResult
from edgemed.tui.screens.base import EdgemedScreen
from edgemed.tui.screens.messages import ConcernAsked, OpenEncounter, ShowQueue
from edgemed.tui.text import say, show, show_wrapped
from edgemed.tui.widgets.banner import CategoryBanner
from edgemed.tui.widgets.note import NoteArea


class ResultScreen(EdgemedScreen):
    """The category as a large label with its word, the reasons, target time and actions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+f", "finish", N_("Finish"), priority=True),
        Binding("ctrl+u", "concern", N_("Concern"), priority=True),
        Binding("ctrl+t", "stop", N_("Stop"), priority=True),
        Binding("ctrl+r", "write", N_("Rewrite"), priority=True),
        # Named in the note's own title line ("Ctrl+S to save") and in Help, not in the footer:
        # with it, the footer of an incomplete result did not fit 80 columns in fr and sw.
        Binding("ctrl+s", "save", N_("Save"), priority=True, show=False),
        Binding("ctrl+e", "note", N_("Note"), priority=True),
        Binding("escape", "done", N_("Queue")),
    ]

    def __init__(self, encounter: Encounter, result: TriageResult) -> None:
        self.encounter = encounter
        self.result = result
        self.streaming = False
        self.stop_requested = False
        # The note as written by the model or template: rewritten after a raise unless edited.
        self.written = ""
        super().__init__()

    def compose(self) -> ComposeResult:
        result = self.result
        yield CategoryBanner(result)
        yield Static(self.incomplete_text(), id="incomplete", classes="warning")
        yield Static(self.saved_text(), id="saved", classes="hint")
        with VerticalScroll(id="result-facts"):
            yield from self.facts()
        yield NoteArea(
            self.encounter.note if self.encounter.step == "saved" else "", id="note", read_only=True
        )
        yield Footer(compact=True)

    def incomplete_text(self) -> Content:
        if not self.result.incomplete:
            return Content("")
        return show_wrapped(
            _(
                "Not a final category. Measure what is missing, or mark it could not be measured "
                "with a reason: Ctrl+F."
            ),
            76,
        )

    def facts(self) -> list[Widget]:
        result = self.result
        widgets: list[Widget] = [Static(show(_("Why:")), classes="title")]
        reasons = result.reasons
        if result.incomplete:
            # The banner already names what is still to measure: the floor's reason repeats it.
            reasons = tuple(r for r in reasons if r != result.floor_reason) or reasons
        widgets += [Static(show("- " + reason)) for reason in reasons]
        widgets.append(Static(show(_("Do now:")), classes="title"))
        widgets += [Static(show("- " + action)) for action in result.actions]
        widgets += [Static(show("! " + w), classes="warning") for w in result.warnings]
        return widgets

    def saved_text(self) -> Content:
        """Saved (and which version), the protocols consulted and their sign-off: one place,
        under the banner, so it is never below the fold."""
        result = self.result
        saved = _("Saved, encrypted (version {version})").format(version=result.version)
        parts = [saved, result.consulted or result.protocol]
        if result.unverified:
            parts.append(_("awaiting sign-off"))
        return show_wrapped(" · ".join(parts), 78)

    def show_result(self, result: TriageResult) -> None:
        """Show a new version of the decision (a raised category) in place; the note follows."""
        self.result = result
        self.query_one(CategoryBanner).show_result(result)
        incomplete = self.query_one("#incomplete", Static)
        incomplete.update(self.incomplete_text())
        incomplete.display = result.incomplete
        self.query_one("#saved", Static).update(self.saved_text())
        facts = self.query_one("#result-facts", VerticalScroll)
        facts.remove_children()
        facts.mount_all(self.facts())
        self.refresh_bindings()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#incomplete", Static).display = self.result.incomplete
        self.action_write()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Finishing is offered only while the decision is incomplete, raising only below RED.
        if action == "finish":
            return self.result.incomplete
        if action == "concern":
            return self.result.category is not Category.RED
        # Stop while the note is being written, Rewrite once it is: one key in the footer at a
        # time, so every key fits 80 columns in every language.
        if action == "stop":
            return self.streaming
        if action == "write":
            return not self.streaming
        return True

    def action_concern(self) -> None:
        if self.result.category is Category.RED:
            return
        if self.streaming:
            self.action_stop()
        self.post_message(ConcernAsked(self.encounter, self.result.category, self.raised))

    def raised(self, result: TriageResult | None) -> None:
        if result is None:
            return
        self.show_result(result)
        self.notify(
            say(
                _("Raised to {colour} for clinical concern; saved as version {version}.").format(
                    colour=result.colour, version=result.version
                )
            ),
            markup=False,
        )
        # The note names the category: write it again, unless the nurse already edited it.
        area = self.query_one("#note", TextArea)
        if not self.streaming and area.text == self.written:
            self.action_write()
        else:
            self.notify(say(_("The note still names the old category: Ctrl+R writes it again.")))

    def action_finish(self) -> None:
        """Finish an incomplete decision: a new version, asking only what is still missing."""
        if not self.result.incomplete:
            return
        if self.streaming:
            self.session.stop_note()
        # What was already answered "not known" is not asked again: only what is missing.
        skipped = set(self.encounter.skipped) - set(self.result.missing_fields)
        try:
            encounter = self.session.finish_incomplete(self.result.encounter_id, skipped)
        except EdgemedError as error:
            self.report(error)
            return
        self.post_message(OpenEncounter(encounter, replace=True))

    def action_write(self) -> None:
        if self.streaming:
            return
        area = self.query_one("#note", TextArea)
        area.read_only = True
        area.text = ""
        self.streaming = True
        self.stop_requested = False
        self.refresh_bindings()
        self.note_title(_("Writing the handover note... (Ctrl+T stops)"))
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
        self.refresh_bindings()
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
        self.written = area.text
        area.read_only = False
        self.note_title(_("Handover note: Ctrl+E opens it to read and edit, Ctrl+S saves."))
        area.focus()
        area.scroll_home(animate=False)

    def note_title(self, text: str) -> None:
        """The note's title sits in its top border: one row more for the result above."""
        self.query_one("#note", TextArea).border_title = show(text)

    def action_note(self) -> None:
        """The note on the whole screen to read and edit; Esc (or Ctrl+E) brings the result
        back."""
        area = self.query_one("#note", TextArea)
        if self.maximized is area:
            self.minimize()
            return
        area.focus()
        self.maximize(area)

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
        self.post_message(ShowQueue())

    def action_done(self) -> None:
        if self.streaming:
            self.session.stop_note()
        self.post_message(ShowQueue())
