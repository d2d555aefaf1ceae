"""The nurse's app: a thin Textual shell over ``edgemed.service.Session``.

The app owns the screens' order (first run, unlock, queue), the theme and the auto-lock timer;
every piece of work is a ``Session`` call, run in a worker when it touches the disk or a model.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingsMap, BindingType

from edgemed.i18n import N_, _, current_language
from edgemed.service import Session
from edgemed.tui.text import say
from edgemed.tui.themes import THEMES, textual_theme

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
        self.last_activity = time.monotonic()
        self._english_bindings = self._bindings
        self.translate_bindings()
        for theme in THEMES.values():
            self.register_theme(theme)

    def on_mount(self) -> None:
        self.apply_theme()
        self.set_interval(IDLE_CHECK_S, self.lock_if_idle)
        if self.session.needs_setup():
            from edgemed.tui.screens.setup import SetupScreen

            self.push_screen(SetupScreen())
        else:
            from edgemed.tui.screens.unlock import UnlockScreen

            self.push_screen(UnlockScreen())

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
        """Back to the queue, rebuilt (so it shows the latest encounters and language)."""
        from edgemed.tui.screens.queue import QueueScreen

        self.translate_bindings()
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(QueueScreen())

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
        from edgemed.tui.screens.base import EncounterScreen

        for screen in self.screen_stack:
            if isinstance(screen, EncounterScreen) and self.session.unlocked:
                screen.keep_typed()

    async def action_quit(self) -> None:
        self.keep_typed()
        await super().action_quit()

    def action_ask_quit(self) -> None:
        """Ctrl+C asks before quitting (Ctrl+Q quits at once); typed values are kept."""
        from edgemed.tui.screens.dialogs import QuitScreen

        if isinstance(self.screen, QuitScreen):
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.keep_typed()
                self.exit()

        self.push_screen(QuitScreen(), answered)

    def action_lock(self) -> None:
        """Lock now: the draft is already saved; unlocking returns to the same screen."""
        from edgemed.tui.screens.unlock import UnlockScreen

        if not self.session.unlocked:
            return
        self.keep_typed()
        self.session.stop_note()
        self.session.lock()
        self.push_screen(UnlockScreen(relock=True))

    def action_help(self) -> None:
        from edgemed.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        # Built once per language and kept: opening help must be instant, even mid-note.
        name = f"help-{current_language()}"
        if not self.is_screen_installed(name):
            self.install_screen(HelpScreen(), name)
        self.push_screen(name)

    def on_unmount(self) -> None:
        self.session.close()


def run(session: Session | None = None) -> None:
    EdgemedApp(session).run()
