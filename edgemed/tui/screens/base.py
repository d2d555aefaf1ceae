"""What every screen shares: the session, showing errors, the encounter it belongs to.

A screen never opens another screen nor imports the app: it posts a message (``messages``) and
the app's navigator decides what comes next.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, Protocol, cast

from textual import events, work
from textual.binding import Binding, BindingsMap, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Select, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _, format_time, is_rtl
from edgemed.service import Encounter, Session
from edgemed.tui.screens.messages import Decided, LeaveAsked, ShowQueue, StepBack
from edgemed.tui.text import isolate, say, show

# Typed values go into the encrypted draft this long after the last key: a kill -9 or a power
# cut loses at most this much typing, and a fast typist does not write the disk per key.
KEEP_TYPED_AFTER_S = 0.5


class HasSession(Protocol):
    """The app as a screen sees it: the session it drives (never the app's class)."""

    session: Session


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
    def session(self) -> Session:
        return cast(HasSession, self.app).session

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
    """Who this step is about: name, age and arrival time (on every step's title); in a
    correction it starts "Correcting <name>, version N" (N: the version it will be saved as)."""
    name = encounter.patient_name or encounter.typed.get("name", "") or _("New patient")
    version = encounter.correcting_version
    if version is not None:
        name = _("Correcting {name}, version {version}").format(name=isolate(name), version=version)
    else:
        name = isolate(name)
    parts = [name]
    age = age_text(encounter)
    if age:
        parts.append(isolate(age))
    parts.append(_("arrived {time}").format(time=isolate(format_time(encounter.started_at))))
    return " · ".join(parts)


class EncounterScreen(EdgemedScreen):
    """A step of one encounter; Escape leaves it as a draft (saved encrypted) for later."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", N_("Queue")),
        Binding("ctrl+n", "next", N_("Next")),
        Binding("ctrl+b", "back", N_("Back"), priority=True),
    ]

    def __init__(self, encounter: Encounter) -> None:
        self.encounter = encounter
        self._keep_timer: Timer | None = None
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
        self.app.call_from_thread(self.post_message, Decided(self.encounter, result))

    def typed_values(self) -> dict[str, str]:
        """What is typed on this step and not yet submitted (overridden by the form steps)."""
        return {}

    def keep_typed(self) -> None:
        """Keep the typed values in the encrypted draft (as typed, leaving, quitting, locking)."""
        if self._keep_timer is not None:
            self._keep_timer.stop()
            self._keep_timer = None
        if not self.session.unlocked:
            return
        typed = {k: v for k, v in self.typed_values().items() if v.strip()}
        if typed == self.encounter.typed:
            return
        try:
            self.session.keep_typed(self.encounter, typed)
        except EdgemedError as error:
            self.report(error)

    def keep_typed_soon(self) -> None:
        """A field changed: into the draft once typing pauses (debounced)."""
        if self._keep_timer is not None:
            self._keep_timer.stop()
        self._keep_timer = self.set_timer(KEEP_TYPED_AFTER_S, self.keep_typed)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.keep_typed_soon()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.keep_typed_soon()

    def on_screen_suspend(self, event: events.ScreenSuspend) -> None:
        # A dialog over this step, or the lock screen: what is typed is in the draft first.
        self.keep_typed()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.can_go_back()
        return True

    def can_go_back(self) -> bool:
        return self.session.can_step_back(self.encounter)

    def action_leave(self) -> None:
        if any(v.strip() for v in self.typed_values().values()):
            self.post_message(LeaveAsked(self.leave))
            return
        self.leave()

    def leave(self) -> None:
        self.keep_typed()
        self.notify(say(_("Kept as a draft: resume it from the queue with r.")))
        self.post_message(ShowQueue())

    def action_back(self) -> None:
        if not self.can_go_back():
            return
        self.keep_typed()
        self.post_message(StepBack(self.encounter))

    def action_next(self) -> None:
        """Overridden by each step."""
