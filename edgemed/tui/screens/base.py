"""What every screen shares: the session, showing errors, the encounter it belongs to."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingsMap, BindingType
from textual.screen import Screen

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _, is_rtl
from edgemed.service import Encounter, Session
from edgemed.tui.text import say

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


class EncounterScreen(EdgemedScreen):
    """A step of one encounter; Escape leaves it as a draft (saved encrypted) for later."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", N_("Queue")),
        Binding("ctrl+n", "next", N_("Next")),
    ]

    def __init__(self, encounter: Encounter) -> None:
        self.encounter = encounter
        super().__init__()

    def action_leave(self) -> None:
        self.notify(say(_("Kept as a draft: resume it from the queue with r.")))
        self.edgemed.show_queue()

    def action_next(self) -> None:
        """Overridden by each step."""
