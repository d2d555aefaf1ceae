"""The nurse's app: a thin Textual shell over ``edgemed.service.Session``.

The app keeps the theme, the footer's app-wide keys and the auto-lock timer; which screen comes
next is the navigator's (``edgemed.tui.navigator``), told by the messages the screens post.
Every piece of work is a ``Session`` call, run in a worker when it touches the disk or a model.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingsMap, BindingType

from edgemed.i18n import N_, _
from edgemed.service import Session
from edgemed.tui.navigator import Navigator
from edgemed.tui.screens import messages
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.text import say
from edgemed.tui.themes import OWN_THEMES, textual_theme

# How often the idle check runs; auto-lock is measured in minutes, so this is plenty.
IDLE_CHECK_S = 5.0


class EdgemedApp(App[None]):
    """edgemed's terminal app."""

    CSS_PATH = Path(__file__).with_name("edgemed.tcss")
    TITLE = "edgemed"
    # The command palette is English-only and takes footer room an 80-column screen needs.
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", N_("Help")),
        Binding("ctrl+l", "lock", N_("Lock")),
        Binding("ctrl+q", "quit", N_("Quit"), show=False),
        Binding("ctrl+c", "ask_quit", N_("Quit"), show=False, priority=True),
    ]

    def __init__(self, session: Session | None = None) -> None:
        super().__init__()
        self.session = session if session is not None else Session()
        self.navigator = Navigator(self, self.session)
        self.last_activity = time.monotonic()
        self._english_bindings = self._bindings
        self.translate_bindings()
        for theme in OWN_THEMES.values():
            self.register_theme(theme)

    def on_mount(self) -> None:
        self.apply_theme()
        self.set_interval(IDLE_CHECK_S, self.lock_if_idle)
        self.navigator.start()

    def apply_theme(self) -> None:
        self.theme = textual_theme(self.session.settings.theme)

    def translate_bindings(self) -> None:
        """The footer's app-wide keys in the current language (after a switch, too)."""
        self._bindings = BindingsMap.from_keys(
            {
                key: [replace(b, description=say(_(b.description))) for b in bindings]
                for key, bindings in self._english_bindings.key_to_bindings.items()
            }
        )

    def show_queue(self) -> None:
        """Back to the queue, rebuilt (the footer's keys in the current language too)."""
        self.translate_bindings()
        self.navigator.show_queue()

    # -- what the screens say: the navigator decides what comes next ---------------------------

    def on_step_done(self, message: messages.StepDone) -> None:
        self.navigator.step_done(message.encounter)

    def on_step_back(self, message: messages.StepBack) -> None:
        self.navigator.step_back(message.encounter)

    def on_decided(self, message: messages.Decided) -> None:
        self.navigator.decided(message.encounter, message.result)

    def on_open_encounter(self, message: messages.OpenEncounter) -> None:
        self.navigator.open_encounter(message.encounter, replace=message.replace)

    def on_show_queue(self, message: messages.ShowQueue) -> None:
        self.show_queue()

    def on_leave_asked(self, message: messages.LeaveAsked) -> None:
        self.navigator.ask_leave(message.leave)

    def on_concern_asked(self, message: messages.ConcernAsked) -> None:
        self.navigator.ask_concern(message.encounter, message.current, message.answered)

    def on_drafts_asked(self, message: messages.DraftsAsked) -> None:
        self.navigator.ask_draft(message.drafts)

    def on_detail_asked(self, message: messages.DetailAsked) -> None:
        self.navigator.show_detail(message.encounter_id)

    def on_history_asked(self, message: messages.HistoryAsked) -> None:
        self.navigator.show_history()

    def on_settings_asked(self, message: messages.SettingsAsked) -> None:
        self.navigator.show_settings()

    def on_settings_saved(self, message: messages.SettingsSaved) -> None:
        self.apply_theme()
        self.show_queue()

    def on_language_picked(self, message: messages.LanguagePicked) -> None:
        self.navigator.setup_in(message.language, message.typed, self.translate_bindings)

    def on_setup_done(self, message: messages.SetupDone) -> None:
        self.show_queue()

    def on_unlocked(self, message: messages.Unlocked) -> None:
        if not message.relock:
            self.translate_bindings()
        self.navigator.unlocked(relock=message.relock)

    # -- app-wide keys, auto-lock ---------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.last_activity = time.monotonic()
        await super().on_event(event)

    def lock_if_idle(self) -> None:
        minutes = self.session.settings.auto_lock_minutes
        idle = time.monotonic() - self.last_activity
        if minutes and self.session.unlocked and idle >= minutes * 60:
            self.action_lock()

    def keep_typed(self) -> None:
        """What is typed on an encounter step goes into its encrypted draft (quit, lock)."""
        for screen in self.screen_stack:
            if isinstance(screen, EncounterScreen) and self.session.unlocked:
                screen.keep_typed()

    async def action_quit(self) -> None:
        self.keep_typed()
        await super().action_quit()

    def action_ask_quit(self) -> None:
        """Ctrl+C asks before quitting (Ctrl+Q quits at once); typed values are kept."""

        def quit_now() -> None:
            self.keep_typed()
            self.exit()

        self.navigator.ask_quit(quit_now)

    def action_lock(self) -> None:
        """Lock now: the draft is already saved; unlocking returns to the same screen."""
        if not self.session.unlocked:
            return
        self.keep_typed()
        self.session.stop_note()
        self.session.lock()
        self.navigator.lock()

    def action_help(self) -> None:
        self.navigator.show_help()

    def on_unmount(self) -> None:
        self.session.close()


def run(session: Session | None = None) -> None:
    EdgemedApp(session).run()
