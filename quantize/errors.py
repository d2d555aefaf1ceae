"""The builder's errors: each says what is wrong and what to do about it."""

from __future__ import annotations

from edgemed.errors import EdgemedError, InputError


class QuantizeError(EdgemedError):
    """The pipeline could not finish (a tool failed, the disk filled)."""


class UnsupportedModel(InputError):
    """The source model uses something this pipeline refuses rather than guesses."""


class SourceNotFound(InputError):
    """The source folder is missing files a conversion needs."""


class InputErrorWithChoices(InputError):
    """A name the builder typed is not one of the choices; the hint lists them."""
