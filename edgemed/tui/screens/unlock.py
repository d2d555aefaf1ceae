"""Unlock: the nurse's user name and passphrase open the encrypted log."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.tui.screens.base import EdgemedScreen
from edgemed.tui.screens.messages import Unlocked
from edgemed.tui.text import show
from edgemed.tui.widgets.entry import Entry


class UnlockScreen(EdgemedScreen):
    """Shown at start, after auto-lock, and to switch user."""

    def __init__(self, relock: bool = False) -> None:
        super().__init__()
        # relock: the app was locked over a screen the nurse returns to after unlocking.
        self.relock = relock

    def compose(self) -> ComposeResult:
        clinic = self.session.settings.clinic_name
        title = _("edgemed - {clinic}").format(clinic=clinic) if clinic else "edgemed"
        with Vertical(id="form"):
            yield Static(show(title), classes="title")
            yield Static(show(_("The encounter log is locked. Type your name and passphrase.")))
            with Horizontal(classes="form-row"):
                yield Label(show(_("User name")))
                yield Entry(id="user", compact=True)
            with Horizontal(classes="form-row"):
                yield Label(show(_("Passphrase")))
                yield Entry(id="passphrase", password=True, compact=True)
            yield Static("", id="message", classes="error")
        with Horizontal(classes="buttons"):
            yield Button(show(_("Unlock")), id="unlock", variant="primary")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#user", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "user":
            self.query_one("#passphrase", Input).focus()
        else:
            self.attempt()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.attempt()

    def attempt(self) -> None:
        user = self.query_one("#user", Input).value
        passphrase = self.query_one("#passphrase", Input).value
        self.query_one("#message", Static).update(show(_("Unlocking...")))
        self.unlock(user, passphrase)

    # Key derivation is deliberately slow (Argon2): never on the UI thread.
    @work(thread=True, exclusive=True)
    def unlock(self, user: str, passphrase: str) -> None:
        try:
            self.session.unlock(user, passphrase)
        except EdgemedError as error:
            self.app.call_from_thread(self.failed, error)
            return
        self.app.call_from_thread(self.unlocked)

    def failed(self, error: EdgemedError) -> None:
        text = error.message if not error.hint else f"{error.message} {error.hint}"
        self.query_one("#message", Static).update(show(text))
        passphrase = self.query_one("#passphrase", Input)
        passphrase.value = ""
        passphrase.focus()

    def unlocked(self) -> None:
        self.post_message(Unlocked(relock=self.relock))
