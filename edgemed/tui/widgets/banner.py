"""The triage category as a large label: colour AND word, so it never depends on colour alone."""

from __future__ import annotations

from textual.widgets import Static

from edgemed.i18n import _, is_rtl
from edgemed.service import TriageResult
from edgemed.tui.text import show


class CategoryBanner(Static):
    """``RED - EMERGENCY`` on a red background, with the target time beneath."""

    def __init__(self, result: TriageResult, **kwargs: object) -> None:
        headline = f"{result.colour}  -  {result.word.upper()}"
        target = _("Target: {target}").format(target=result.target)
        # Spaced capitals read from across a room; the word repeats the colour's meaning.
        # Arabic letters join: spacing them apart would break the words.
        spaced = headline if is_rtl() else " ".join(headline)
        super().__init__(show(spaced) + "\n" + show(target), **kwargs)  # type: ignore[arg-type]
        self.add_class(result.category.value)
