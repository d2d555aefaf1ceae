"""Settings: language (with its review status), model, protocol, auto-lock, theme."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Footer, Input, Label, Select, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import N_, _, available_languages, language_name, review_status
from edgemed.tui.screens.base import EdgemedScreen
from edgemed.tui.screens.messages import SettingsSaved
from edgemed.tui.text import say, show
from edgemed.tui.widgets.entry import Entry

_REVIEW = {
    "source": N_("source text"),
    "drafted": N_("drafted, not clinically reviewed"),
    "clinically reviewed": N_("clinically reviewed"),
    "missing": N_("no catalog"),
}
_THEME_NAMES = {"dark": N_("Dark"), "light": N_("Light"), "high-contrast": N_("High contrast")}


def review_label(language: str) -> str:
    status = review_status(language)
    return _(_REVIEW.get(status, status))


class SettingsScreen(EdgemedScreen):
    """Changes apply at once; a new language rebuilds the screens without a restart."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", N_("Save")),
        Binding("escape", "back", N_("Back")),
    ]

    def compose(self) -> ComposeResult:
        settings = self.session.settings
        languages = [
            (show(f"{language_name(code)} - {review_label(code)}"), code)
            for code in available_languages()
        ]
        models = [(show(c.title), c.model_id or "") for c in self.session.model_choices()]
        if settings.model_id and settings.model_id not in [m[1] for m in models]:
            models.append(
                (
                    show(_("{model} (not installed)").format(model=settings.model_id)),
                    settings.model_id,
                )
            )
        protocols = [(show(_("By age (adult SATS, child ETAT)")), "")]
        protocols += [(Content(p), p) for p in self.session.protocol_choices()]
        allowed = self.session.theme_choices()
        themes = [(show(_(name)), key) for key, name in _THEME_NAMES.items() if key in allowed]
        with VerticalScroll(id="form"):
            yield Static(show(_("Settings")), classes="title")
            for field, label, options, value in (
                ("language", _("Language"), languages, settings.language),
                ("model", _("Language model"), models, settings.model_id or ""),
                ("protocol", _("Protocol"), protocols, settings.protocol_id or ""),
                ("theme", _("Theme"), themes, settings.theme),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(show(label))
                    yield Select(
                        options,
                        value=value,
                        allow_blank=False,
                        id=field,
                        compact=True,
                    )
            with Horizontal(classes="form-row"):
                yield Label(show(_("Auto-lock (minutes; 0 off)")))
                yield Entry(str(settings.auto_lock_minutes), id="autolock", compact=True)
            yield Static(
                show(_("Translation: {status}").format(status=review_label(settings.language))),
                classes="hint",
            )
            yield Static("", id="message", classes="error")
        with Horizontal(classes="buttons"):
            yield Button(show(_("Save")), id="save", variant="primary")
        yield Footer(compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_save()

    def action_save(self) -> None:
        def chosen(field: str) -> str | None:
            value = self.query_one(f"#{field}", Select).value
            return str(value) if value and value != Select.BLANK else None

        try:
            minutes = int(self.query_one("#autolock", Input).value.strip() or "0")
        except ValueError:
            self.query_one("#message", Static).update(show(_("Auto-lock must be whole minutes.")))
            return
        try:
            self.session.update_settings(
                language=chosen("language") or "en",
                model_id=chosen("model"),
                protocol_id=chosen("protocol"),
                theme=chosen("theme") or "dark",
                auto_lock_minutes=minutes,
            )
        except EdgemedError as error:
            self.query_one("#message", Static).update(show(error.message))
            return
        self.notify(say(_("Settings saved.")))
        self.post_message(SettingsSaved())

    def action_back(self) -> None:
        self.dismiss()
