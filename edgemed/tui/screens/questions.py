"""Step 5: the interview's questions, one at a time, until the category cannot change."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _
from edgemed.protocol import Presence
from edgemed.service import QuestionView, TriageResult
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.text import show


class QuestionsScreen(EncounterScreen):
    """y = yes, n = no, u = not known. Then the decision, saved before it is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('present')", N_("Yes")),
        Binding("n", "answer('absent')", N_("No")),
        Binding("u", "answer('unknown')", N_("Not known")),
        Binding("ctrl+u", "unmeasurable", N_("Cannot measure"), priority=True),
    ]

    def __init__(self, encounter: object) -> None:
        super().__init__(encounter)  # type: ignore[arg-type]
        self.question: QuestionView | None = None

    def compose(self) -> ComposeResult:
        yield Static(show(_("Questions")), classes="title")
        yield Static("", id="question")
        yield Static("", id="why", classes="hint")
        yield Input(id="measure", compact=True, disabled=True)
        yield Static("", id="reason-label", classes="hint")
        yield Input(id="reason", compact=True, disabled=True)
        yield Static("", id="keys", classes="hint")
        yield Static("", id="message", classes="hint")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        vital = self.question is not None and self.question.vital
        if action == "unmeasurable":
            return vital
        # While a measurement is asked for, y/n/u are typed into it, not answers.
        return not (action == "answer" and vital)

    def on_mount(self) -> None:
        super().on_mount()
        self.ask()

    def ask(self) -> None:
        try:
            self.question = self.session.next_question(self.encounter)
        except EdgemedError as error:
            self.report(error)
            return
        if self.question is None:
            self.query_one("#measure", Input).disabled = True
            self.query_one("#reason", Input).disabled = True
            self.query_one("#reason", Input).display = False
            self.query_one("#reason-label", Static).update("")
            self.query_one("#question", Static).update(show(_("No more questions.")))
            self.query_one("#message", Static).update(show(_("Deciding and saving...")))
            self.finish()
            return
        question = self.question
        self.query_one("#question", Static).update(show(question.text))
        self.query_one("#why", Static).update(show(question.why))
        measure = self.query_one("#measure", Input)
        measure.value = ""
        measure.disabled = not question.vital
        reason = self.query_one("#reason", Input)
        reason.value = ""
        reason.disabled = not question.vital
        reason.display = question.vital
        self.query_one("#reason-label", Static).update(
            show(_("Could not be measured? Say why (e.g. no oximeter), then Enter:"))
            if question.vital
            else ""
        )
        if question.vital:
            keys = _(
                "Type the value and Enter. Cannot measure: Ctrl+U (or Enter on an empty line), "
                "then the reason; Enter with no reason leaves it unknown (INCOMPLETE)."
            )
            measure.focus()
        else:
            keys = _("y = yes, n = no, u = not known")
            self.set_focus(None)
        self.query_one("#keys", Static).update(show(keys))
        self.refresh_bindings()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.question is None or not self.question.vital:
            return
        if event.input.id == "reason":
            self.not_measured(event.value)
            return
        if not event.value.strip():
            # Not measured: why? (a reason finishes the decision; none leaves it INCOMPLETE)
            self.action_unmeasurable()
            return
        try:
            check = self.session.answer_vital(self.encounter, self.question.key, event.value)
        except EdgemedError as error:
            self.report(error)
            return
        if not check.accepted:
            self.query_one("#message", Static).update(show(check.error or ""))
            return
        self.query_one("#message", Static).update(show(check.warning or ""))
        self.ask()

    def action_unmeasurable(self) -> None:
        if self.question is not None and self.question.vital:
            self.query_one("#reason", Input).focus()

    def not_measured(self, reason: str) -> None:
        """The asked vital could not be measured: with a reason it is recorded as such (the
        decision can finish, never lower); without one it stays unknown (INCOMPLETE)."""
        if self.question is None:
            return
        try:
            if reason.strip():
                self.session.mark_unmeasurable(self.encounter, self.question.key, reason)
            else:
                self.session.answer_vital(self.encounter, self.question.key, "")
        except EdgemedError as error:
            self.report(error)
            return
        self.query_one("#message", Static).update("")
        self.ask()

    def action_answer(self, presence: str) -> None:
        if self.question is None:
            return
        try:
            self.session.answer(self.encounter, self.question.key, Presence(presence))
        except EdgemedError as error:
            self.report(error)
            return
        self.ask()

    def action_next(self) -> None:
        """Ctrl+N skips the remaining questions: the decision is made on what is known."""
        self.question = None
        self.query_one("#message", Static).update(show(_("Deciding and saving...")))
        self.finish()

    # Saving to the encrypted log is disk work: a worker, and the result only after it.
    @work(thread=True, exclusive=True)
    def finish(self) -> None:
        try:
            result = self.session.finish(self.encounter)
        except EdgemedError as error:
            self.app.call_from_thread(self.report, error)
            return
        self.app.call_from_thread(self.show_result, result)

    def show_result(self, result: TriageResult) -> None:
        from edgemed.tui.screens.result import ResultScreen

        self.app.switch_screen(ResultScreen(self.encounter, result))
