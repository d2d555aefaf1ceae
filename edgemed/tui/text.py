"""Text helpers for the screens: translation, right-to-left display, evidence highlighting."""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rich.text import Text
from textual.content import Content

from edgemed.i18n import display as _display
from edgemed.i18n import is_rtl, terminal_reorders

# Unicode's bidi isolates: FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE.
_FSI, _PDI = "\u2068", "\u2069"
# RIGHT-TO-LEFT MARK: starts a line so that it is laid out right to left whatever comes first.
_RLM = "\u200f"
_ISOLATES = str.maketrans("", "", "\u200f\u2066\u2067\u2068\u2069")
# Characters that take no cell: marks (harakat) and format characters.
_UNDRAWN = frozenset({"Mn", "Me", "Cf"})


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


def drawn_right_to_left() -> bool:
    """Whether lines are put into visual order here (a right-to-left language on a terminal that
    does not do it itself): a line's start, where a tick box goes, is then on the right."""
    return is_rtl() and not terminal_reorders()


def evidence(text: str, span: tuple[int, int]) -> Text:
    """The nurse's complaint with the words that made a proposal highlighted (typed Arabic
    shaped and in visual order, the highlight on the same words)."""
    start, end = span
    laid = typed(text)
    if laid is None:
        shown = Text(text)
        if 0 <= start < end <= len(text):
            shown.stylize("bold reverse", start, end)
        return shown
    # Without the cursor's free cell.
    offset = 1 if laid.rtl else 0
    shown = Text(laid.line[1:] if laid.rtl else laid.line[:-1])
    if 0 <= start < end <= len(text):
        for index in sorted({laid.cursor[position] - offset for position in range(start, end)}):
            shown.stylize("bold reverse", index, index + 1)
    return shown


# ---- A typed value laid out for the terminal (the fields the nurse types into) -----------------

# LAM followed by an ALEF is drawn as one glyph: the isolated and the final ligature, by alef.
_LAM = "\u0644"
_LAM_ALEF = {
    "\u0627": ("\ufefb", "\ufefc"),
    "\u0622": ("\ufef5", "\ufef6"),
    "\u0623": ("\ufef7", "\ufef8"),
    "\u0625": ("\ufef9", "\ufefa"),
}
_LAM_INITIAL, _LAM_MEDIAL = "\ufedf", "\ufee0"


@dataclass(frozen=True)
class Typed:
    """A typed value as the terminal must draw it: ``line`` (shaped, in visual order, with one
    free cell where the cursor stands after the last letter: on the left of a right-to-left
    value, on the right of a left-to-right one) and, for each position of the cursor in the
    value (0 to ``len(value)``), the index in ``line`` of the character it stands on."""

    line: str
    cursor: tuple[int, ...]
    rtl: bool

    def position_at(self, index: int) -> int:
        """The cursor position in the value for the character at ``index`` in ``line``."""
        for position, at in enumerate(self.cursor):
            if at == index:
                return position
        return len(self.cursor) - 1


def typed(value: str, rtl: bool | None = None) -> Typed | None:
    """``value`` laid out for a terminal that does not lay out Arabic, or None when it is drawn
    as typed (a left-to-right language, a terminal that reorders itself, no right-to-left
    letter in it). Only what is drawn changes: the value itself stays as the nurse typed it.

    ``rtl`` gives the direction of the paragraph the value is a line of (a wrapped line of the
    note): laid out right to left when True, even with no Arabic letter in it ("120/80" on a
    line of its own, "John K" wrapped onto the next line). By default its first letter with a
    direction decides, as in a field."""
    if not is_rtl() or terminal_reorders():
        return None
    if not rtl and not any(unicodedata.bidirectional(char) in ("R", "AL") for char in value):
        return None
    return _typed(value, rtl)


def reads_right_to_left(paragraph: str) -> bool:
    """Whether a paragraph of free text (a line of the note) reads right to left: its first
    letter with a direction is right to left, or it has none ("120/80", "-", an empty line) and
    the language is."""
    for char in paragraph:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return is_rtl()


@lru_cache(maxsize=256)
def _typed(value: str, rtl: bool | None = None) -> Typed:
    import arabic_reshaper
    from bidi import algorithm

    # Marks (harakat) and format characters take no cell of their own: they are left out, and
    # the cursor on one stands on the letter before it.
    drawn = [i for i, char in enumerate(value) if unicodedata.category(char) not in _UNDRAWN]
    letters = "".join(value[i] for i in drawn)
    # Shaped one letter for one letter (ligatures are made below, once the order is known).
    shaped = arabic_reshaper.ArabicReshaper(configuration={"support_ligatures": False}).reshape(
        letters
    )
    if len(shaped) != len(letters):  # never expected; drawn unshaped rather than misplaced
        shaped = letters
    storage = algorithm.get_empty_storage()
    base = algorithm.get_base_level(shaped) if rtl is None else int(rtl)
    storage["base_level"], storage["base_dir"] = base, ("L", "R")[base]
    algorithm.get_embedding_levels(shaped, storage)
    for index, char in zip(drawn, storage["chars"], strict=True):
        char["index"] = index
    for step in (
        algorithm.explicit_embed_and_overrides,
        algorithm.resolve_weak_types,
        algorithm.resolve_neutral_types,
        algorithm.resolve_implicit_levels,
        algorithm.reorder_resolved_levels,
        algorithm.apply_mirroring,
    ):
        step(storage, False)
    rtl = base == 1
    glyphs: list[str] = [" "] if rtl else []
    at: dict[int, int] = {}
    chars = storage["chars"]
    j = 0
    while j < len(chars):
        char, index = chars[j]["ch"], chars[j]["index"]
        after = chars[j + 1] if j + 1 < len(chars) else None
        forms = _LAM_ALEF.get(value[index])
        if (
            forms is not None
            and after is not None
            and value[after["index"]] == _LAM
            and after["ch"] in (_LAM_INITIAL, _LAM_MEDIAL)
            and drawn.index(after["index"]) + 1 == drawn.index(index)
        ):
            # Alef then lam, right to left: one ligature for both.
            at[index] = at[after["index"]] = len(glyphs)
            glyphs.append(forms[0] if after["ch"] == _LAM_INITIAL else forms[1])
            j += 2
            continue
        at[index] = len(glyphs)
        glyphs.append(char)
        j += 1
    end = 0 if rtl else len(glyphs)
    if not rtl:
        glyphs.append(" ")
    cursor: list[int] = []
    for position in range(len(value)):
        if position in at:
            cursor.append(at[position])
        else:  # a mark: on the letter before it (or after it, at the start)
            before = [at[i] for i in drawn if i < position]
            after_ = [at[i] for i in drawn if i > position]
            cursor.append(before[-1] if before else after_[0] if after_ else end)
    cursor.append(end)
    return Typed("".join(glyphs), tuple(cursor), rtl)
