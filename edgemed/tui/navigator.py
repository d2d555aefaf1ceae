"""The one way through the app: which screen comes next.

Screens post messages (``edgemed.tui.screens.messages``) and never open one another; the app
hands each message to this navigator. The order of an encounter's steps is the service's: a
service call leaves ``encounter.step`` at the next step (``Session.step_back`` at the previous
one), and the navigator shows the screen of that step (``STEP_SCREENS``).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App

from edgemed.i18n import current_language, set_language
from edgemed.protocol import Category
from edgemed.service import Encounter, Session, TriageResult
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.screens.concern import ConcernScreen
from edgemed.tui.screens.dialogs import DraftsScreen, LeaveScreen, QuitScreen
from edgemed.tui.screens.help import HelpScreen
from edgemed.tui.screens.history import DetailScreen, HistoryScreen
from edgemed.tui.screens.patient import PatientScreen
from edgemed.tui.screens.proposals import ProposalsScreen
from edgemed.tui.screens.questions import QuestionsScreen
from edgemed.tui.screens.queue import QueueScreen
from edgemed.tui.screens.result import ResultScreen
from edgemed.tui.screens.settings import SettingsScreen
from edgemed.tui.screens.setup import SetupScreen
from edgemed.tui.screens.signs import SignsScreen
from edgemed.tui.screens.unlock import UnlockScreen
from edgemed.tui.screens.vitals import VitalsScreen
from edgemed.tui.text import say

# The screen of each entry step of an encounter (``edgemed.service.encounter.ENTRY_STEPS``).
STEP_SCREENS: dict[str, type[EncounterScreen]] = {
    "patient": PatientScreen,
    "proposals": ProposalsScreen,
    "signs": SignsScreen,
    "vitals": VitalsScreen,
    "questions": QuestionsScreen,
}


class Navigator:
    """Owns the order of the screens: first run, unlock, the queue, and an encounter's steps."""

    def __init__(self, app: App[None], session: Session) -> None:
        self.app = app
        self.session = session

    # -- start, unlock, home -------------------------------------------------------------------

    def start(self) -> None:
        if self.session.needs_setup():
            self.app.push_screen(SetupScreen())
        else:
            self.app.push_screen(UnlockScreen())

    def setup_in(
        self, language: str, typed: dict[str, str], retranslate: Callable[[], None]
    ) -> None:
        """First run: the set-up again in the language just picked, typed values kept."""
        if language != current_language():
            set_language(language)
        retranslate()
        self.app.switch_screen(SetupScreen(language, typed))

    def unlocked(self, *, relock: bool) -> None:
        problem = self.session.log_problem
        if relock:
            self.app.pop_screen()
        else:
            self.show_queue()
        if problem:
            # The log opened for reading only (an older copy put back, entries cut): say so at
            # once, before a nurse types an encounter that could not be saved.
            self.app.notify(say(problem), severity="error", timeout=30, markup=False)

    def lock(self) -> None:
        self.app.push_screen(UnlockScreen(relock=True))

    def show_queue(self) -> None:
        """Back to the queue, rebuilt (so it shows the latest encounters and language)."""
        while len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        self.app.switch_screen(QueueScreen())

    # -- an encounter's steps ----------------------------------------------------------------

    def screen_for(self, encounter: Encounter) -> EncounterScreen:
        """The screen of the encounter's step (a decided but unsaved one: its questions, which
        decide and save at once)."""
        return STEP_SCREENS.get(encounter.step, QuestionsScreen)(encounter)

    def open_encounter(self, encounter: Encounter, *, replace: bool = False) -> None:
        if replace:
            self.app.switch_screen(self.screen_for(encounter))
        else:
            self.app.push_screen(self.screen_for(encounter))

    def step_done(self, encounter: Encounter) -> None:
        self.app.switch_screen(self.screen_for(encounter))

    def step_back(self, encounter: Encounter) -> None:
        if self.session.step_back(encounter) is not None:
            self.app.switch_screen(self.screen_for(encounter))

    def decided(self, encounter: Encounter, result: TriageResult) -> None:
        self.app.switch_screen(ResultScreen(encounter, result))

    # -- dialogs and side screens -------------------------------------------------------------

    def ask_leave(self, leave: Callable[[], None]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                leave()

        self.app.push_screen(LeaveScreen(), answered)

    def ask_quit(self, quit_now: Callable[[], None]) -> None:
        if isinstance(self.app.screen, QuitScreen):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                quit_now()

        self.app.push_screen(QuitScreen(), answered)

    def ask_concern(
        self,
        encounter: Encounter,
        current: Category,
        answered: Callable[[TriageResult | None], None],
    ) -> None:
        self.app.push_screen(ConcernScreen(encounter, current), answered)

    def ask_draft(self, drafts: list[Encounter]) -> None:
        def chosen(encounter: Encounter | None) -> None:
            if encounter is not None:
                self.open_encounter(encounter)

        self.app.push_screen(DraftsScreen(drafts), chosen)

    def show_detail(self, encounter_id: str) -> None:
        self.app.push_screen(DetailScreen(encounter_id))

    def show_history(self) -> None:
        self.app.push_screen(HistoryScreen())

    def show_settings(self) -> None:
        self.app.push_screen(SettingsScreen())

    def show_help(self) -> None:
        if isinstance(self.app.screen, HelpScreen):
            return
        # Built once per language and kept: opening help must be instant, even mid-note.
        name = f"help-{current_language()}"
        if not self.app.is_screen_installed(name):
            self.app.install_screen(HelpScreen(), name)
        self.app.push_screen(name)
