"""Text helpers for the screens: translation, right-to-left display, evidence highlighting."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.content import Content

from edgemed.i18n import display


def show(text: str) -> Content:
    """A finished string (translated and formatted) for a widget: laid out for this terminal,
    and never parsed as markup (a complaint may well contain brackets)."""
    return Content(display(text))


def show_wrapped(text: str, width: int) -> Content:
    """Like ``show``, but wrapped to ``width`` first: right-to-left text put into visual order
    line by line wraps the right way round (Textual would wrap the reordered line from its
    wrong end)."""
    lines = textwrap.wrap(text, width) or [""]
    return Content("\n".join(display(line) for line in lines))


def say(text: str) -> str:
    """A finished string for a notification or a table cell, laid out for this terminal."""
    return display(text)


def evidence(text: str, span: tuple[int, int]) -> Text:
    """The nurse's complaint with the words that made a proposal highlighted."""
    start, end = span
    shown = Text(text)
    if 0 <= start < end <= len(text):
        shown.stylize("bold reverse", start, end)
    return shown
