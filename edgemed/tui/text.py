"""Text helpers for the screens: translation, right-to-left display, evidence highlighting."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.content import Content

from edgemed.i18n import _, is_rtl, terminal_reorders
from edgemed.i18n import display as _display

# Unicode's bidi isolates: FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE.
_FSI, _PDI = "\u2068", "\u2069"
_ISOLATES = str.maketrans("", "", "\u2066\u2067\u2068\u2069")


def isolate(value: str) -> str:
    """A value put into a right-to-left sentence (a name, a number, a time, a key such as
    "Ctrl+N") kept whole and in its place: "مسودة: John K · 09:30" reads right to left, the
    name and the time each one piece. Unchanged in left-to-right languages."""
    if not value or not is_rtl():
        return value
    return f"{_FSI}{value}{_PDI}"


def display(text: str) -> str:
    """``edgemed.i18n.display``, the isolates used up: once the line is in visual order, they
    would only be printed as stray characters (a terminal that reorders itself keeps them)."""
    shown = _display(text)
    if terminal_reorders():
        return shown
    return shown.translate(_ISOLATES)


def pair(label: str, value: str) -> str:
    """``label: value`` with the value isolated, so in Arabic the label never runs into it
    ("معدل22") and a Latin or numeric value stays on the label's left."""
    return _("{label}: {value}").format(label=label, value=isolate(value))


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
