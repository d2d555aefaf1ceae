"""Step 5: the interview's questions, one at a time, until the category cannot change; the
discriminators that decide alone come as one checklist (tick every sign present, Ctrl+N)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, ListView, OptionList, Static
from textual.widgets.option_list import Option

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _
from edgemed.protocol import Presence
from edgemed.service import DISCRIMINATORS_KEY, Encounter, QuestionView
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.screens.messages import StepBack
from edgemed.tui.text import say, show
from edgemed.tui.widgets.entry import Entry
from edgemed.tui.widgets.ticklist import Tick, TickList

NOT_MEASURED = "-not-measured-"


class QuestionsScreen(EncounterScreen):
    """y = yes, n = no, u = not known; on the discriminator checklist Space ticks and Ctrl+N
    submits. Then the decision, saved before it is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('present')", N_("Yes")),
        Binding("n", "answer('absent')", N_("No")),
        Binding("u", "answer('unknown')", N_("Not known")),
        Binding("ctrl+u", "unmeasurable", N_("Cannot measure"), priority=True),
    ]

    def __init__(self, encounter: Encounter) -> None:
        super().__init__(encounter)
        self.question: QuestionView | None = None
        # The questions answered on this screen, in order: Ctrl+B goes back through them.
        self.history: list[str] = []
        self.checklist: TickList | None = None

    def compose(self) -> ComposeResult:
        yield self.who()
        yield Static(show(_("Questions")), id="progress", classes="title")
        yield Static("", id="question")
        yield Static("", id="why", classes="hint")
        yield Entry(id="measure", compact=True, disabled=True)
        yield OptionList(id="choice", compact=True)
        yield Static("", id="reason-label", classes="hint")
        yield Entry(id="reason", compact=True, disabled=True)
        yield Static("", id="keys", classes="hint")
        yield Static("", id="message", classes="hint")
        yield Footer(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        vital = self.question is not None and self.question.vital
        if action == "answer" and self.question is not None and self.question.checklist:
            return False  # the checklist is ticked (Space) and submitted (Ctrl+N)
        if action == "back":
            return True
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
            self.show_checklist(None)
            self.query_one("#choice", OptionList).display = False
            self.query_one("#measure", Input).disabled = True
            self.query_one("#reason", Input).disabled = True
            self.query_one("#reason", Input).display = False
            self.query_one("#reason-label", Static).update("")
            self.query_one("#question", Static).update(show(_("No more questions.")))
            self.query_one("#message", Static).update(show(_("Deciding and saving...")))
            self.finish()
            return
        question = self.question
        self.show_checklist(question)
        number = len(self.history) + 1
        self.query_one("#progress", Static).update(
            show(
                _("Question {number} of about {total}").format(
                    number=number, total=number - 1 + max(1, question.remaining)
                )
            )
        )
        self.query_one("#question", Static).update(
            show(
                _("Discriminators: tick every one present (space), then Ctrl+N")
                if question.checklist
                else question.text
            )
        )
        why = question.why
        if question.earlier:
            # A correction asks again: what the saved version said, to keep or change.
            why = _("Before this correction: {answer}").format(answer=question.earlier) + (
                f" · {why}" if why else ""
            )
        self.query_one("#why", Static).update(show(why))
        choices = self.session.vital_choices(question.key) if question.vital else []
        choice = bool(choices)
        measure = self.query_one("#measure", Input)
        measure.value = ""
        measure.disabled = not question.vital or choice
        measure.display = not choice and not question.checklist
        options = self.query_one("#choice", OptionList)
        options.clear_options()
        options.display = choice
        if choice:
            # First (and highlighted): not measured, as Enter on an empty line is for a number;
            # an Enter by mistake never records "alert" or "walks unaided".
            options.add_option(Option(say(_("not measured")), id=NOT_MEASURED))
            options.add_options([Option(say(text), id=value) for text, value in choices])
            options.highlighted = 0
        reason = self.query_one("#reason", Input)
        reason.value = ""
        reason.disabled = not question.vital
        reason.display = question.vital
        self.query_one("#reason-label", Static).update(
            show(_("Could not be measured? Say why (e.g. no oximeter), then Enter:"))
            if question.vital
            else ""
        )
        if question.checklist:
            keys = _("Up/Down moves, Space ticks; Ctrl+N: done (unticked = absent). Ctrl+B: back.")
        elif choice:
            keys = _(
                "Up/Down and Enter chooses. Cannot assess: Ctrl+U, then the reason. Ctrl+B: back."
            )
            options.focus()
        elif question.vital:
            keys = _(
                "Type the value and Enter. Cannot measure: Ctrl+U (or Enter on an empty line), "
                "then the reason; Enter with no reason leaves it unknown (INCOMPLETE)."
            )
            measure.focus()
        else:
            keys = _("y = yes, n = no, u = not known, Ctrl+B = back")
            self.set_focus(None)
        if question.checklist and self.checklist is not None:
            self.checklist.focus()
        self.query_one("#keys", Static).update(show(keys))
        self.refresh_bindings()

    def show_checklist(self, question: QuestionView | None) -> None:
        """The checklist's ticks in place of the yes/no answer, or no checklist."""
        if self.checklist is not None:
            self.checklist.remove()
            self.checklist = None
        if question is None or not question.checklist:
            return
        self.checklist = TickList(
            [(c.finding_id, say(c.label), c.ticked) for c in question.choices],
            classes="checklist",
        )
        self.mount(self.checklist, after="#why")

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        """The highlighted sign's description, to look for it as the protocol says."""
        if self.question is None or not self.question.checklist:
            return
        item = event.item
        if isinstance(item, Tick):
            described = {c.finding_id: c.description for c in self.question.choices}
            self.query_one("#why", Static).update(show(described.get(item.key, "")))

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
        self.answered(self.question.key)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.question is None or event.option.id is None:
            return
        if event.option.id == NOT_MEASURED:
            self.action_unmeasurable()
            return
        try:
            self.session.answer_vital(self.encounter, self.question.key, event.option.id)
        except EdgemedError as error:
            self.report(error)
            return
        self.answered(self.question.key)

    def answered(self, key: str) -> None:
        self.history.append(key)
        self.ask()

    def action_back(self) -> None:
        """Back to the previous question (its answer forgotten), or to the previous step."""
        if not self.history:
            self.post_message(StepBack(self.encounter))
            return
        key = self.history.pop()
        try:
            self.session.unanswer(self.encounter, key)
        except EdgemedError as error:
            self.report(error)
            return
        self.query_one("#message", Static).update("")
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
        self.answered(self.question.key)

    def action_answer(self, presence: str) -> None:
        if self.question is None:
            return
        try:
            self.session.answer(self.encounter, self.question.key, Presence(presence))
        except EdgemedError as error:
            self.report(error)
            return
        self.answered(self.question.key)

    def action_next(self) -> None:
        """Ctrl+N submits the discriminator checklist; on any other question it skips the
        remaining questions: the decision is made on what is known."""
        if self.question is not None and self.question.checklist and self.checklist is not None:
            try:
                self.session.set_discriminators(self.encounter, self.checklist.ticked)
            except EdgemedError as error:
                self.report(error)
                return
            self.answered(DISCRIMINATORS_KEY)
            return
        self.question = None
        self.query_one("#message", Static).update(show(_("Deciding and saving...")))
        self.finish()
