"""The handover note: a text area that draws Arabic joined and right to left where the terminal
does not.

Textual's ``TextArea`` draws each line character by character, left to right: on a terminal
that does not lay out Arabic itself, the note the model writes in Arabic shows unjoined and back
to front. ``NoteArea`` draws each wrapped line of a right-to-left paragraph shaped, in visual
order and against the right edge (``edgemed.tui.text.typed``, as ``Entry`` does for a field),
with the cursor and the selection on the cells where their characters are drawn; Left and Right
move the way they point. The document (``text``: what is saved, what goes into the encrypted
log) stays exactly what the model wrote and the nurse typed. Wrapping, scrolling, Up and Down
stay Textual's, on the text as written. A left-to-right language, a terminal that reorders
itself, a line without soft wrap, or a left-to-right line with no Arabic in it is drawn by
``TextArea`` itself, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.events import MouseEvent
from textual.geometry import Offset
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import Location

from edgemed.tui.text import Typed, drawn_right_to_left, reads_right_to_left, typed


@dataclass(frozen=True)
class _Row:
    """One row of the wrapped note as drawn: the line it is part of, the columns of that line it
    shows (``start`` to ``end``), their layout, and the blank cells before it (right-aligned)."""

    line: int
    start: int
    end: int
    last: bool
    laid: Typed
    pad: int

    def cell(self, column: int) -> int:
        """The index in ``laid.line`` of the character at ``column`` of the line (the free cell
        after the row's last character for its end)."""
        return self.laid.cursor[min(max(column - self.start, 0), self.end - self.start)]


class NoteArea(TextArea):
    """A ``TextArea`` for the handover note: the same keys, the same messages, the same text."""

    def _row(self, y_offset: int) -> _Row | None:
        """Row ``y_offset`` of the wrapped document laid out for this terminal, or None when
        ``TextArea`` draws it as it is."""
        if not self.soft_wrap or not drawn_right_to_left():
            return None
        wrapped = self.wrapped_document
        if not 0 <= y_offset < wrapped.height:
            return None
        try:
            line_index, section = wrapped._offset_to_line_info[y_offset]
        except IndexError:
            return None
        line = self.document.get_line(line_index)
        bounds = [0, *wrapped.get_offsets(line_index), len(line)]
        start, end = bounds[section], bounds[section + 1]
        # A tab takes one cell here: the row is against the right edge, not on tab stops.
        laid = typed(line[start:end].replace("\t", " "), reads_right_to_left(line))
        if laid is None:
            return None
        width = self.scrollable_content_region.width - self.gutter_width
        pad = max(0, width - cell_len(laid.line)) if laid.rtl else 0
        return _Row(line_index, start, end, section + 2 == len(bounds), laid, pad)

    def _render_line(self, y: int) -> Strip:
        row = self._row(y + self.scroll_offset.y)
        if row is None:
            return super()._render_line(y)
        theme = self._theme
        base_style = theme.base_style if theme and theme.base_style is not None else self.rich_style
        laid = row.laid
        line = Text(laid.line, end="", no_wrap=True)
        line_length = len(self.document.get_line(row.line))
        selection = self.selection
        start, end = selection
        cursor_row, cursor_column = end
        has_cursor = self._has_cursor
        highlight_cursor_line = self.highlight_cursor_line and has_cursor
        cursor_line_style = theme.cursor_line_style if (theme and highlight_cursor_line) else None
        if has_cursor and cursor_line_style and cursor_row == row.line:
            line.stylize(cursor_line_style)

        def stylize(style: Style | None, column: int) -> None:
            if style is not None and row.start <= column < row.end:
                index = row.cell(column)
                line.stylize(style, index, index + 1)

        top, bottom = sorted(selection)
        selection_style = theme.selection_style if theme else None
        if start != end and selection_style and top[0] <= row.line <= bottom[0]:
            if line_length == 0 and row.line != cursor_row:
                # An empty line in the selection: marked, as TextArea marks it.
                line = Text("▌", style=Style(color=selection_style.bgcolor), end="")
            else:
                first = top[1] if row.line == top[0] else 0
                last = bottom[1] if row.line == bottom[0] else line_length
                for column in range(max(first, row.start), min(last, row.end)):
                    stylize(selection_style, column)

        # The cursor, on the row it is shown on (its column may also end the row before).
        if cursor_row == row.line and self._cursor_offset[1] == self.scroll_offset.y + y:
            matching = self._matching_bracket_location
            bracket_style = theme.bracket_matching_style if theme else None
            if has_cursor and self.match_cursor_bracket and matching and start == end:
                stylize(bracket_style, cursor_column)
                if matching[0] == row.line:
                    stylize(bracket_style, matching[1])
            if self._draw_cursor and theme:
                index = row.cell(cursor_column)
                if theme.cursor_style:
                    line.stylize(theme.cursor_style, index, index + 1)

        if cursor_row == row.line and self.highlight_cursor_line:
            line_style = cursor_line_style
        else:
            line_style = theme.base_style if theme else None
        width = self.scrollable_content_region.width - self.gutter_width
        strip = Strip(line.render(self.app.console), cell_length=line.cell_len)
        if row.pad:
            strip = Strip.join([Strip.blank(row.pad, line_style), strip])
        strip = strip.crop(0, width).extend_cell_length(width, line_style)
        if self.show_line_numbers and theme:
            if cursor_row == row.line and highlight_cursor_line:
                gutter_style = theme.cursor_line_gutter_style
            else:
                gutter_style = theme.gutter_style
            number = str(row.line + self.line_number_start) if row.start == 0 else ""
            gutter = Segment(f"{number:>{self.gutter_width - 2}}  ", gutter_style)
            strip = Strip.join([Strip([gutter], cell_length=self.gutter_width), strip])
        return strip.apply_style(base_style)

    @property
    def cursor_screen_offset(self) -> Offset:
        """Where the terminal's own cursor goes (for an input method): on the cell drawn."""
        offset = super().cursor_screen_offset
        _, cursor_y = self._cursor_offset
        row = self._row(cursor_y)
        if row is None:
            return offset
        index = row.cell(self.cursor_location[1])
        region_x = self.content_region.x
        x = region_x + self.gutter_width + row.pad + cell_len(row.laid.line[:index])
        return Offset(x - self.scroll_offset.x, offset.y)

    def get_target_document_location(self, event: MouseEvent) -> Location:
        """A click lands on the character drawn under it."""
        scroll_x, scroll_y = self.scroll_offset
        row = self._row(event.y + scroll_y - self.gutter.top)
        if row is None:
            return super().get_target_document_location(event)
        target = event.x - self.gutter_width + scroll_x - self.gutter.left - row.pad
        laid = row.laid
        index = 0
        while index < len(laid.line) and cell_len(laid.line[: index + 1]) <= target:
            index += 1
        index = min(index, len(laid.line) - 1)
        position = laid.position_at(index)
        if not row.last:  # the end of a row is the start of the next one
            position = min(position, row.end - row.start - 1)
        return row.line, row.start + max(position, 0)

    # Right to left, the arrows move the cursor the way they point on the screen.
    def _mirrored(self) -> bool:
        if not self.soft_wrap or not drawn_right_to_left():
            return False
        return reads_right_to_left(self.document.get_line(self.cursor_location[0]))

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

    def action_cursor_word_left(self, select: bool = False) -> None:
        if self._mirrored():
            super().action_cursor_word_right(select)
        else:
            super().action_cursor_word_left(select)

    def action_cursor_word_right(self, select: bool = False) -> None:
        if self._mirrored():
            super().action_cursor_word_left(select)
        else:
            super().action_cursor_word_right(select)
