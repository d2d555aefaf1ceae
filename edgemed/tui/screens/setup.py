"""First run: language, clinic name, the first nurse account, and the model (or rules-only)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Select, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import _, available_languages, language_name
from edgemed.tui.screens.base import EdgemedScreen
from edgemed.tui.screens.messages import LanguagePicked, SetupDone
from edgemed.tui.text import show
from edgemed.tui.widgets.entry import Entry

_FIELDS = ("clinic", "user", "passphrase", "again")


class SetupScreen(EdgemedScreen):
    """Creates the encrypted log and the settings; shown once."""

    def __init__(self, language: str | None = None, typed: dict[str, str] | None = None) -> None:
        super().__init__()
        self.language = language or self.session.settings.language
        self.typed = typed or {}

    def compose(self) -> ComposeResult:
        languages = [(language_name(code), code) for code in available_languages()]
        # The catalog's default model comes first when it is installed (`make run` installs it);
        # rules-only is last, and the only choice when no model is installed.
        models = [(show(c.title), c.model_id or "") for c in self.session.model_choices()]
        with VerticalScroll(id="form"):
            yield Static(show(_("Welcome to edgemed: first-time set-up")), classes="title")
            with Horizontal(classes="form-row"):
                yield Label(show(_("Language")))
                yield Select(
                    languages,
                    value=self.language,
                    allow_blank=False,
                    id="language",
                    compact=True,
                )
            for field, label, secret in (
                ("clinic", _("Clinic name"), False),
                ("user", _("Your user name"), False),
                ("passphrase", _("Passphrase (8+ characters)"), True),
                ("again", _("Passphrase again"), True),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(show(label))
                    yield Entry(self.typed.get(field, ""), id=field, password=secret, compact=True)
            with Horizontal(classes="form-row"):
                yield Label(show(_("Language model")))
                yield Select(
                    models,
                    value=models[0][1],
                    allow_blank=False,
                    id="model",
                    compact=True,
                )
            yield Static(
                show(
                    _(
                        "The triage category always comes from the protocol; a model only "
                        "proposes findings and words the handover note."
                    )
                ),
                classes="hint",
            )
            yield Static("", id="message", classes="error")
        with Horizontal(classes="buttons"):
            yield Button(show(_("Create")), id="create", variant="primary")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#clinic", Input).focus()

    @on(Select.Changed, "#language")
    def language_changed(self, event: Select.Changed) -> None:
        """Switch language at once: the screen is rebuilt with what was typed kept."""
        code = str(event.value)
        if code == self.language:
            return
        typed = {f: self.query_one(f"#{f}", Input).value for f in _FIELDS}
        self.post_message(LanguagePicked(code, typed))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == _FIELDS[-1]:
            self.submit()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.submit()

    def submit(self) -> None:
        values = {f: self.query_one(f"#{f}", Input).value for f in _FIELDS}
        model = self.query_one("#model", Select).value
        self.query_one("#message", Static).update(show(_("Creating the encrypted log...")))
        self.create(values, str(model) if model else None)

    @work(thread=True, exclusive=True)
    def create(self, values: dict[str, str], model_id: str | None) -> None:
        try:
            self.session.setup(
                language=self.language,
                clinic_name=values["clinic"],
                user=values["user"],
                passphrase=values["passphrase"],
                passphrase_again=values["again"],
                model_id=model_id,
            )
        except EdgemedError as error:
            self.app.call_from_thread(self.failed, error)
            return
        self.app.call_from_thread(self.post_message, SetupDone())

    def failed(self, error: EdgemedError) -> None:
        self.query_one("#message", Static).update(show(error.message))
