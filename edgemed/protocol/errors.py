"""Errors of the pure protocol core.

They carry plain English messages (the core imports nothing else of edgemed, not even i18n);
the command layer maps them onto ``edgemed.errors.InputError`` so a user sees a clear message
and exit code 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class ProtocolError(ValueError):
    """Base class: something about the case or the protocol is wrong; ``message`` says what."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ImpossibleVital(ProtocolError):
    """A measurement no living patient can have (HR 600, temperature 90 C, SpO2 130)."""

    def __init__(self, field: str, value: object, low: float, high: float, hint: str = "") -> None:
        shown = f"{value:g}" if isinstance(value, int | float) else repr(value)
        message = (
            f"{field} = {shown} is not physiologically possible; "
            f"accepted range is {low:g} to {high:g}."
        )
        if hint:
            message = f"{message} {hint}"
        super().__init__(message)
        self.field = field
        self.value = value
        self.low = low
        self.high = high


class UnknownFinding(ProtocolError):
    """A finding id that the protocol's vocabulary does not contain."""

    def __init__(self, finding_id: str, protocol_id: str, suggestions: Sequence[str] = ()) -> None:
        message = f"unknown finding '{finding_id}' for protocol {protocol_id}."
        if suggestions:
            message += " Did you mean: " + ", ".join(suggestions) + "?"
        message += f" `edgemed protocol show {protocol_id}` lists every finding."
        super().__init__(message)
        self.finding_id = finding_id
        self.protocol_id = protocol_id
        self.suggestions = tuple(suggestions)


class UnknownProtocol(ProtocolError):
    """A protocol id with no data file."""

    def __init__(self, protocol_id: str, available: Sequence[str]) -> None:
        super().__init__(
            f"unknown protocol '{protocol_id}'; available: {', '.join(available) or 'none'}."
        )
        self.protocol_id = protocol_id
        self.available = tuple(available)


class InvalidCase(ProtocolError):
    """A case that cannot be read: wrong type, unknown field, malformed value."""


class InvalidProtocolFile(ProtocolError):
    """A protocol data file that breaks the format (caught by tests before it ships)."""
