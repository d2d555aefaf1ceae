"""The names build, readiness and the bench import: the family registry's front door.

Every family (hyper-parameters, GGUF metadata, tensor fix-ups, ONNX export config) is a class in
quantize/families, registered by the HF architecture names it accepts.
"""

from __future__ import annotations

from quantize.families import Family, Hyperparameters, family_for, read_hyperparameters

__all__ = ["Family", "Hyperparameters", "family_for", "read_hyperparameters"]
