"""Llama and Mistral: llama.cpp's ``llama`` architecture.

llama.cpp's rotary embedding pairs neighbouring dimensions, transformers pairs the two halves of
a head, so the rows of Q and K are permuted (llama.cpp's own converter does the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantize.families.base import Family, Hyperparameters, register


def rotary_permute(weight: np.ndarray, heads: int, head_dim: int) -> np.ndarray:
    """Reorder each head's rows from transformers' half-split pairing to llama.cpp's interleaved."""
    rows = weight.reshape(heads, 2, head_dim // 2, *weight.shape[1:])
    return rows.swapaxes(1, 2).reshape(weight.shape)


@register("LlamaForCausalLM")
class LlamaFamily(Family):
    gguf_arch = "llama"
    onnx_model_type = "llama"

    def fix_tensor(self, hf_name: str, array: np.ndarray, hp: Hyperparameters) -> np.ndarray:
        if hf_name.endswith("q_proj.weight"):
            return rotary_permute(array, hp.heads, hp.head_dim)
        if hf_name.endswith("k_proj.weight"):
            return rotary_permute(array, hp.kv_heads, hp.head_dim)
        return array


@register("MistralForCausalLM")
class MistralFamily(LlamaFamily):
    """Mistral is llama with an optional sliding window (Mistral 7B v0.1: 4096 of 32768).

    llama.cpp's ``llama`` architecture has no sliding window, so a window shorter than the
    context caps the GGUF's context length at the window (see Family.runs_sliding_window); the
    tensors are llama's, byte for byte.
    """

    onnx_model_type = "mistral"

    def sliding_window(self, config: dict[str, Any]) -> int | None:
        window = config.get("sliding_window")
        return int(window) if window else None
