"""One error family: every error a user can cause carries a message they can act on."""

from __future__ import annotations


class EdgemedError(Exception):
    """An error meant for the person at the keyboard: a message and, where there is one, a fix.

    The CLI and the TUI render these in one place; a user never sees a traceback for their own
    mistake. ``exit_code`` is what the CLI exits with (2 = bad input, 1 = could not do it).
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class InputError(EdgemedError):
    """The input itself is wrong: bad JSON, an unknown id, an impossible value."""

    exit_code = 2
