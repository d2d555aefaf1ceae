"""What every screen shares: the session, showing errors, the encounter it belongs to."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingsMap, BindingType
from textual.screen import Screen
from textual.widgets import Static

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _, format_time, is_rtl
from edgemed.service import Encounter, Session, TriageResult
from edgemed.tui.text import say, show

if TYPE_CHECKING:
    from edgemed.tui.app import EdgemedApp


class EdgemedScreen(Screen[None]):
    """A screen of the nurse's app."""

    def __init__(self) -> None:
        super().__init__()
        # Key descriptions are marked with N_ and translated per screen, so the footer follows
        # a language switch (screens are built anew after one).
        self._bindings = BindingsMap.from_keys(
            {
                key: [replace(b, description=say(_(b.description))) for b in bindings]
                for key, bindings in self._bindings.key_to_bindings.items()
            }
        )

    def on_mount(self) -> None:
        self.set_class(is_rtl(), "rtl")

    @property
    def edgemed(self) -> EdgemedApp:
        from edgemed.tui.app import EdgemedApp

        assert isinstance(self.app, EdgemedApp)
        return self.app

    @property
    def session(self) -> Session:
        return self.edgemed.session

    def report(self, error: EdgemedError) -> None:
        """Show an error the nurse can act on (never a traceback)."""
        message = error.message if not error.hint else f"{error.message}\n{error.hint}"
        self.notify(
            say(message), title=say(_("Problem")), severity="error", timeout=8, markup=False
        )


def age_text(encounter: Encounter) -> str:
    """The age as the nurse typed it: "34 y" or "8 mo" (empty when not typed yet)."""
    patient = encounter.patient
    if patient.age_months is not None:
        return _("{months} mo").format(months=patient.age_months)
    if patient.age_years is not None:
        return _("{years} y").format(years=f"{patient.age_years:g}")
    return ""


def patient_line(encounter: Encounter) -> str:
    """Who this step is about: name, age and arrival time (on every step's title)."""
    name = encounter.patient_name or encounter.typed.get("name", "") or _("New patient")
    parts = [name]
    age = age_text(encounter)
    if age:
        parts.append(age)
    parts.append(_("arrived {time}").format(time=format_time(encounter.started_at)))
    if encounter.corrects:
        parts.append(_("correcting"))
    return " · ".join(parts)


# The previous step of each step (Ctrl+B); the questions step goes back question by question.
PREVIOUS_STEP = {"proposals": "patient", "signs": "proposals", "vitals": "signs"}


class EncounterScreen(EdgemedScreen):
    """A step of one encounter; Escape leaves it as a draft (saved encrypted) for later."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", N_("Queue")),
        Binding("ctrl+n", "next", N_("Next")),
        Binding("ctrl+b", "back", N_("Back"), priority=True),
    ]
    STEP = ""

    def __init__(self, encounter: Encounter) -> None:
        self.encounter = encounter
        super().__init__()

    def who(self) -> Static:
        """The patient's name, age and arrival time: on every step, so nothing goes to the
        wrong patient."""
        return Static(show(patient_line(self.encounter)), id="who", classes="who")

    # Deciding saves to the encrypted log first (disk work): a worker, the result only after it.
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

    def typed_values(self) -> dict[str, str]:
        """What is typed on this step and not yet submitted (overridden by the form steps)."""
        return {}

    def keep_typed(self) -> None:
        """Keep the typed values in the encrypted draft (leaving, quitting, locking)."""
        typed = {k: v for k, v in self.typed_values().items() if v.strip()}
        if not typed and not self.encounter.typed:
            return
        try:
            self.session.keep_typed(self.encounter, typed)
        except EdgemedError as error:
            self.report(error)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.can_go_back()
        return True

    def can_go_back(self) -> bool:
        return self.STEP in PREVIOUS_STEP

    def action_leave(self) -> None:
        from edgemed.tui.screens.dialogs import LeaveScreen

        if any(v.strip() for v in self.typed_values().values()):
            self.app.push_screen(LeaveScreen(), self.leave_answered)
            return
        self.leave()

    def leave_answered(self, leave: bool | None) -> None:
        if leave:
            self.leave()

    def leave(self) -> None:
        self.keep_typed()
        self.notify(say(_("Kept as a draft: resume it from the queue with r.")))
        self.edgemed.show_queue()

    def action_back(self) -> None:
        from edgemed.tui.screens.steps import screen_for

        previous = PREVIOUS_STEP.get(self.STEP)
        if previous is None:
            return
        self.keep_typed()
        self.encounter.step = previous
        self.app.switch_screen(screen_for(self.encounter))

    def action_next(self) -> None:
        """Overridden by each step."""
