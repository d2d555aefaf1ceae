"""What a screen says when it is done: the app's navigator decides what comes next.

Screens never open the next screen themselves, nor import the app or one another: they post
one of these messages (it bubbles up to the app) or ``dismiss`` a result. The order of an
encounter's steps is the service's (``Session.step_back``, the step each service call leaves the
encounter at); the navigator shows the screen for that step.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message

from edgemed.protocol import Category
from edgemed.service import Encounter, TriageResult


class StepDone(Message):
    """A step of the encounter is done; the service has moved ``encounter.step`` on."""

    def __init__(self, encounter: Encounter) -> None:
        self.encounter = encounter
        super().__init__()


class StepBack(Message):
    """Back to the previous step of the encounter (Ctrl+B)."""

    def __init__(self, encounter: Encounter) -> None:
        self.encounter = encounter
        super().__init__()


class Decided(Message):
    """The decision is made and saved: show it."""

    def __init__(self, encounter: Encounter, result: TriageResult) -> None:
        self.encounter = encounter
        self.result = result
        super().__init__()


class OpenEncounter(Message):
    """Show an encounter at its step: a new one, a draft resumed, a correction."""

    def __init__(self, encounter: Encounter, *, replace: bool = False) -> None:
        self.encounter = encounter
        # replace: instead of the screen that asked (a correction from a saved encounter).
        self.replace = replace
        super().__init__()


class ShowQueue(Message):
    """Back to the queue (home), rebuilt: latest encounters, current language."""


class LeaveAsked(Message):
    """Esc on a step with typed values: ask, and call ``leave`` if the nurse says yes."""

    def __init__(self, leave: Callable[[], None]) -> None:
        self.leave = leave
        super().__init__()


class ConcernAsked(Message):
    """The nurse wants to raise the category: ask the level and the reason; ``answered`` gets
    the raised result (None: cancelled)."""

    def __init__(
        self,
        encounter: Encounter,
        current: Category,
        answered: Callable[[TriageResult | None], None],
    ) -> None:
        self.encounter = encounter
        self.current = current
        self.answered = answered
        super().__init__()


class DraftsAsked(Message):
    """Which unfinished encounter to resume: the list to choose from."""

    def __init__(self, drafts: list[Encounter]) -> None:
        self.drafts = drafts
        super().__init__()


class DetailAsked(Message):
    """One saved encounter in full."""

    def __init__(self, encounter_id: str) -> None:
        self.encounter_id = encounter_id
        super().__init__()


class HistoryAsked(Message):
    """The history, with search."""


class SettingsAsked(Message):
    """The settings."""


class SettingsSaved(Message):
    """The settings changed: theme, language and the footer's keys follow."""


class LanguagePicked(Message):
    """First run: a language was picked; the set-up is shown again in it, typed values kept."""

    def __init__(self, language: str, typed: dict[str, str]) -> None:
        self.language = language
        self.typed = typed
        super().__init__()


class SetupDone(Message):
    """First run done: the log exists and is unlocked."""


class Unlocked(Message):
    """The log is unlocked; ``relock``: back to the screen it was locked over."""

    def __init__(self, *, relock: bool) -> None:
        self.relock = relock
        super().__init__()
