"""A checklist whose state is written, not only coloured: ``[x]`` ticked, ``[ ]`` not."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import ListItem, ListView, Static

from edgemed.tui.text import drawn_right_to_left


class Tick(ListItem):
    def __init__(self, key: str, label: str, ticked: bool) -> None:
        self.key = key
        self.label = label
        self.ticked = ticked
        super().__init__(Static(self.text()))

    def text(self) -> Content:
        box = "[x]" if self.ticked else "[ ]"
        # The box starts the line: on the right of a line drawn right to left.
        if drawn_right_to_left():
            return Content(f"{self.label} {box}")
        return Content(f"{box} {self.label}")

    def toggle(self) -> None:
        self.ticked = not self.ticked
        self.query_one(Static).update(self.text())


class TickList(ListView):
    """Up/Down to move, Space (or Enter) to tick."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "tick", "Tick", show=False),
        Binding("enter", "tick", "Tick", show=False),
    ]

    def __init__(self, items: list[tuple[str, str, bool]], **kwargs: str) -> None:
        super().__init__(*[Tick(key, label, ticked) for key, label, ticked in items], **kwargs)  # type: ignore[arg-type]

    def action_tick(self) -> None:
        item = self.highlighted_child
        if isinstance(item, Tick):
            item.toggle()

    @property
    def ticked(self) -> set[str]:
        return {item.key for item in self.query(Tick) if item.ticked}
