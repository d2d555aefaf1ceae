"""One error family: every error a user can cause carries a message they can act on.

The exit codes of both commands (``edgemed`` and ``edgemed-quantize``) are named here, once, and
:func:`error_lines` is the one wording of an error on the terminal: the CLIs
(:func:`edgemed.cli.run`) and the bundle installer print it.
"""

from __future__ import annotations

from enum import IntEnum

from edgemed.i18n import _


class ExitCode(IntEnum):
    """What an edgemed command exits with."""

    OK = 0
    FAILED = 1  # it could not be done (an EdgemedError, or the user said no at a prompt)
    BAD_INPUT = 2  # the input itself is wrong (an InputError, or click's usage errors)
    NOT_READY = 3  # `edgemed-quantize inspect`: the source model cannot be converted (no-go)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as a shell reports it)


class EdgemedError(Exception):
    """An error meant for the person at the keyboard: a message and, where there is one, a fix.

    The CLI and the TUI render these in one place; a user never sees a traceback for their own
    mistake. ``exit_code`` is what the CLI exits with.
    """

    exit_code: int = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class InputError(EdgemedError):
    """The input itself is wrong: bad JSON, an unknown id, an impossible value."""

    exit_code = ExitCode.BAD_INPUT


def error_lines(error: EdgemedError) -> list[str]:
    """How every edgemed command shows ``error``: "Error: ..." first, then the fix if any."""
    lines = [_("Error: {message}").format(message=error.message)]
    if error.hint:
        lines.append(error.hint)
    return lines
