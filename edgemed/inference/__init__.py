"""Local models behind one interface: llama.cpp (GGUF), onnxruntime (ONNX), or none.

``open_engine(model_id_or_path)`` vouches for the file (size, sha256, header) and returns a
loaded :class:`Engine`; ``open_default_engine()`` falls back to :class:`NoEngine` (rules-only
mode) when no model is installed. See docs/inference.md.
"""

from __future__ import annotations

from edgemed.inference.engine import (
    ChatMessage,
    Engine,
    EngineError,
    EngineSettings,
    GenerationCancelled,
    GenerationStats,
    LlamaCppUnavailable,
    ModelInfo,
    NoEngine,
    NoModelError,
)
from edgemed.inference.opening import open_default_engine, open_engine

__all__ = [
    "ChatMessage",
    "Engine",
    "EngineError",
    "EngineSettings",
    "GenerationCancelled",
    "GenerationStats",
    "LlamaCppUnavailable",
    "ModelInfo",
    "NoEngine",
    "NoModelError",
    "open_default_engine",
    "open_engine",
]
