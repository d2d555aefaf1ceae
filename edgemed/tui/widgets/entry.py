"""A text field that draws typed Arabic joined and right to left where the terminal does not.

Textual's ``Input`` draws its value character by character, left to right: on a terminal that
does not lay out Arabic itself, typed Arabic shows unjoined and back to front. ``Entry`` draws
the value shaped and in visual order (``edgemed.tui.text.typed``) with the cursor on the
character it stands before; ``value`` (what is saved, what the understanding module reads)
stays exactly what the nurse typed. A left-to-right language, a terminal that reorders itself,
a password, or a value with no right-to-left letter is drawn by ``Input`` itself, unchanged.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.strip import Strip
from textual.widgets import Input

from edgemed.tui.text import Typed, typed


class Entry(Input):
    """An ``Input`` for free text: the same keys, the same messages, the same value."""

    def _typed(self) -> Typed | None:
        return None if self.password else typed(self.value)

    def _cell(self, laid: Typed, index: int) -> int:
        return cell_len(laid.line[:index])

    @property
    def _cursor_offset(self) -> int:
        laid = self._typed()
        if laid is None:
            return super()._cursor_offset
        return self._cell(laid, laid.cursor[self.cursor_position])

    @property
    def content_width(self) -> int:
        laid = self._typed()
        if laid is None:
            return super().content_width
        return cell_len(laid.line)

    def _cell_offset_to_index(self, offset: int) -> int:
        laid = self._typed()
        if laid is None:
            return super()._cell_offset_to_index(offset)
        target = offset + self.scroll_offset.x
        for index in range(len(laid.line)):
            if self._cell(laid, index + 1) > target:
                return laid.position_at(index)
        return len(self.value)

    # Right to left, the arrows move the cursor the way they point on the screen.
    def _mirrored(self) -> bool:
        laid = self._typed()
        return laid is not None and laid.rtl

    def action_cursor_left(self, select: bool = False) -> None:
        if self._mirrored():
            super().action_cursor_right(select)
        else:
            super().action_cursor_left(select)

    def action_cursor_right(self, select: bool = False) -> None:
        if self._mirrored():
            super().action_cursor_left(select)
        else:
            super().action_cursor_right(select)

    def action_cursor_left_word(self, select: bool = False) -> None:
        if self._mirrored():
            super().action_cursor_right_word(select)
        else:
            super().action_cursor_left_word(select)

    def action_cursor_right_word(self, select: bool = False) -> None:
        if self._mirrored():
            super().action_cursor_left_word(select)
        else:
            super().action_cursor_right_word(select)

    def render_line(self, y: int) -> Strip:
        laid = self._typed()
        if y != 0 or laid is None:
            return super().render_line(y)
        line = Text(laid.line, no_wrap=True, overflow="ignore", end="")
        if self.has_focus:
            if not self.selection.is_empty:
                start, end = sorted(self.selection)
                style = self.get_component_rich_style("input--selection")
                for position in range(start, end):
                    index = laid.cursor[position]
                    line.stylize_before(style, index, index + 1)
            if self._cursor_visible:
                index = laid.cursor[self.cursor_position]
                line.stylize(self.get_component_rich_style("input--cursor"), index, index + 1)
        console = self.app.console
        width = self.scrollable_content_region.width
        options = self.app.console_options.update_width(self.content_width)
        strip = Strip(list(console.render(line, options)))
        scroll_x = self.scroll_offset.x
        strip = strip.crop(scroll_x, scroll_x + width + 1).extend_cell_length(width + 1)
        return strip.apply_style(self.rich_style)
