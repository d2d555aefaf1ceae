"""Qwen2 (Qwen2.5 included): llama.cpp's ``qwen2`` architecture, q/k/v with biases, no fix-up."""

from __future__ import annotations

from typing import Any

from quantize.families.base import Family, register


@register("Qwen2ForCausalLM")
class Qwen2Family(Family):
    gguf_arch = "qwen2"
    onnx_model_type = "qwen2"

    def sliding_window(self, config: dict[str, Any]) -> int | None:
        # Published configs carry a sliding_window with use_sliding_window false: full attention.
        window = config.get("sliding_window") if config.get("use_sliding_window") else None
        return int(window) if window else None
