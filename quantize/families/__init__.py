"""The model families the converters know, registered by the HF architecture names they accept.

Importing this package registers every family (each module's ``@register``); add a new family's
module to the import below. docs/quantize.md, "Adding a model family", says what a family needs.
"""

from __future__ import annotations

from quantize.families import gemma3, llama, qwen2
from quantize.families.base import (
    REFUSED,
    Family,
    Hyperparameters,
    family_for,
    read_hyperparameters,
    register,
    registered,
)

__all__ = [
    "REFUSED",
    "Family",
    "Hyperparameters",
    "family_for",
    "gemma3",
    "llama",
    "qwen2",
    "read_hyperparameters",
    "register",
    "registered",
]
