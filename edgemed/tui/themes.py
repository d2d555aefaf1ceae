"""The app's themes: dark, light, and a high-contrast one for bright rooms and old screens."""

from __future__ import annotations

from textual.theme import Theme

# The Textual themes edgemed adds, by the setting that picks them (the setting's allowed values
# are ``edgemed.settings.THEME_CHOICES``; "dark" and "light" are Textual's own).
OWN_THEMES: dict[str, Theme] = {
    "high-contrast": Theme(
        name="edgemed-high-contrast",
        primary="#ffff00",
        secondary="#00ffff",
        accent="#ffff00",
        foreground="#ffffff",
        background="#000000",
        surface="#000000",
        panel="#1a1a1a",
        warning="#ffaf00",
        error="#ff5f5f",
        success="#00ff00",
        dark=True,
    ),
}

_BUILT_IN = {"dark": "textual-dark", "light": "textual-light"}


def textual_theme(setting: str) -> str:
    """The Textual theme name for the clinic's setting."""
    if setting in OWN_THEMES:
        return OWN_THEMES[setting].name
    return _BUILT_IN.get(setting, "textual-dark")
