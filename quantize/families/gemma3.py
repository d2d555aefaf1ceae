"""Gemma 3 (text): llama.cpp's ``gemma3`` architecture.

- gemma's RMSNorm multiplies by (1 + weight), llama.cpp's by weight, so norms are stored + 1;
- local (sliding-window) layers alternate with global ones: llama.cpp runs the window itself,
  given its size, the per-layer pattern and the local layers' rope base;
- the output layer is the embedding unless config.json says otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantize.families.base import Family, Hyperparameters, register


@register("Gemma3ForCausalLM")
class Gemma3Family(Family):
    gguf_arch = "gemma3"
    onnx_model_type = "gemma3_text"
    tied_by_default = True
    runs_sliding_window = True

    def sliding_window(self, config: dict[str, Any]) -> int | None:
        window = config.get("sliding_window")
        return int(window) if window else None

    def write_metadata(self, writer: Any, hp: Hyperparameters) -> None:
        super().write_metadata(writer, hp)
        if hp.sliding_window:
            writer.add_sliding_window(hp.sliding_window)
            if hp.layer_types:
                writer.add_sliding_window_pattern(
                    [kind == "sliding_attention" for kind in hp.layer_types]
                )
        if hp.rope_local_theta:
            writer.add_rope_freq_base_swa(float(hp.rope_local_theta))

    def fix_tensor(self, hf_name: str, array: np.ndarray, hp: Hyperparameters) -> np.ndarray:
        if hf_name.endswith("norm.weight"):
            return array + np.asarray(1.0, dtype=array.dtype)
        return array
