"""Text helpers for the screens: translation, right-to-left display, evidence highlighting."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.content import Content

from edgemed.i18n import display as _display
from edgemed.i18n import is_rtl, terminal_reorders

# Unicode's bidi isolates: FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE.
_FSI, _PDI = "\u2068", "\u2069"
# RIGHT-TO-LEFT MARK: starts a line so that it is laid out right to left whatever comes first.
_RLM = "\u200f"
_ISOLATES = str.maketrans("", "", "\u200f\u2066\u2067\u2068\u2069")


def isolate(value: str) -> str:
    """A value put into a right-to-left sentence (a name, a number, a time, a key such as
    "Ctrl+N") kept whole and in its place: "مسودة: John K · 09:30" reads right to left, the
    name and the time each one piece. Unchanged in left-to-right languages."""
    if not value or not is_rtl():
        return value
    return f"{_FSI}{value}{_PDI}"


_MIRRORED = {"(": ")", ")": "(", "[": "]", "]": "[", "{": "}", "}": "{"}
_CLOSERS = ")]}"


def _mirror_brackets(visual: str) -> str:
    """Brackets laid out right to left, drawn mirrored.

    The bidi library puts each bracket in its visual place but draws it as typed, so a pair it
    laid out right to left comes out back to front: ")/دقيقة(" for "(/دقيقة)", "] ? [" for
    "[ ? ]". In the visual line, such a pair is a closing bracket before its opening one: both
    are swapped. Pairs laid out left to right ("John K (34 y)") are already the right way.
    """
    chars = list(visual)
    open_: list[int] = []
    for index, char in enumerate(chars):
        if char not in _MIRRORED:
            continue
        top = chars[open_[-1]] if open_ else ""
        if top == _MIRRORED[char]:
            start = open_.pop()
            if char not in _CLOSERS:  # ")...(": laid out right to left
                chars[start], chars[index] = char, top
        else:
            open_.append(index)
    return "".join(chars)


def display(text: str) -> str:
    """``edgemed.i18n.display``, every line read as right-to-left in a right-to-left language
    (a line that starts with a Latin key, "y = تأكيد، ... Ctrl+N = التالي", would otherwise be
    laid out left to right and pair "Ctrl+N =" with the wrong words), and the marks and
    isolates used up: once the line is in visual order they would only be printed as stray
    characters (a terminal that reorders itself gets them)."""
    if not is_rtl() or not text:
        return text
    lines = text.split("\n")
    if terminal_reorders():
        return "\n".join(_RLM + line for line in lines)
    shown = _display("\n".join(_RLM + line for line in lines)).translate(_ISOLATES)
    return "\n".join(_mirror_brackets(line) for line in shown.split("\n"))


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
