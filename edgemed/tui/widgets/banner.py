"""The triage category as a large label: colour AND word, so it never depends on colour alone.

An incomplete decision is a floor, not a verdict: the banner says INCOMPLETE first, "at least"
before the colour, names what is still to measure, and is drawn dark with a dashed border in the
floor's colour, so it can never be read across a room as a finished category.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from edgemed.i18n import _, is_rtl
from edgemed.service import TriageResult
from edgemed.tui.text import show, show_wrapped

_CATEGORY_CLASSES = ("red", "orange", "yellow", "green")


def _spaced(text: str) -> str:
    # Spaced capitals read from across a room; the word repeats the colour's meaning.
    # Arabic letters join: spacing them apart would break the words.
    return text if is_rtl() else " ".join(text)


def banner_text(result: TriageResult) -> Content:
    target = _("Target: {target}").format(target=result.target)
    if not result.incomplete:
        headline = _spaced(f"{result.colour}  -  {result.word.upper()}")
        return show(headline) + "\n" + show(target)
    headline = _("INCOMPLETE - at least {colour} ({word})").format(
        colour=result.colour, word=result.word.upper()
    )
    missing = _("Still to measure: {items}").format(items=", ".join(result.missing) or "-")
    # Wrapped here (the banner's inside is 76 columns at 80x24) so Arabic wraps the right way.
    return show_wrapped(headline, 74) + "\n" + show(target) + "\n" + show_wrapped(missing, 74)


class CategoryBanner(Static):
    """``RED - EMERGENCY`` on a red background, with the target time beneath."""

    def __init__(self, result: TriageResult, **kwargs: object) -> None:
        super().__init__(banner_text(result), **kwargs)  # type: ignore[arg-type]
        self.show_result(result, update=False)

    def show_result(self, result: TriageResult, update: bool = True) -> None:
        if update:
            self.update(banner_text(result))
        self.remove_class(*_CATEGORY_CLASSES)
        self.add_class(result.category.value)
        self.set_class(result.incomplete, "incomplete")
