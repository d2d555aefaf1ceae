"""The model families the GGUF writer knows: hyperparameters, metadata and tensor fix-ups.

Each fix-up exists because llama.cpp computes something differently from transformers:
- llama's rotary embedding pairs neighbouring dimensions, transformers pairs the two halves of a
  head, so Q and K rows are permuted;
- gemma's RMSNorm multiplies by (1 + weight), llama.cpp by weight, so gemma norms are stored +1;
- llama 3 rope scaling is a per-frequency divisor that llama.cpp reads from a ``rope_freqs``
  tensor, computed here from the config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgemed.i18n import _
from quantize.errors import UnsupportedModel

# HF class name -> llama.cpp architecture
SUPPORTED: dict[str, str] = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "Gemma3ForCausalLM": "gemma3",
}

# Known names we refuse, with the reason and what to do instead.
REFUSED: dict[str, str] = {
    "Gemma3ForConditionalGeneration": "the vision-language Gemma 3 (export its language model "
    "as Gemma3ForCausalLM first)",
    "MixtralForCausalLM": "mixture-of-experts models",
    "Qwen2MoeForCausalLM": "mixture-of-experts models",
}

ROPE_TYPES = ("linear", "llama3", "yarn")


@dataclass(frozen=True)
class Hyperparameters:
    """The numbers a GGUF header needs, read from config.json."""

    family: str
    vocab_size: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    feed_forward: int
    context: int
    rms_eps: float
    rope_theta: float
    tied: bool
    rope_scaling: dict[str, Any] = field(default_factory=dict)
    sliding_window: int | None = None
    layer_types: tuple[str, ...] = ()
    rope_local_theta: float | None = None


def family_of(architecture: str) -> str:
    """llama.cpp's architecture for an HF class name, or a refusal that names it."""
    if architecture in SUPPORTED:
        return SUPPORTED[architecture]
    why = REFUSED.get(architecture)
    supported = ", ".join(sorted(SUPPORTED))
    if why:
        message = _("{arch} is not supported: {why}.").format(arch=architecture, why=why)
    else:
        message = _("Architecture {arch} is not supported.").format(arch=architecture)
    raise UnsupportedModel(message, hint=_("Supported: {names}.").format(names=supported))


def _rope_settings(config: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    # transformers 5 moved rope settings into rope_parameters; 4.x keeps rope_theta/rope_scaling.
    parameters = config.get("rope_parameters") or {}
    theta = float(config.get("rope_theta", parameters.get("rope_theta", 10000.0)))
    scaling = dict(config.get("rope_scaling") or {})
    if not scaling and parameters.get("rope_type", "default") != "default":
        scaling = dict(parameters)
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind in (None, "default"):
        return theta, {}
    if kind not in ROPE_TYPES:
        raise UnsupportedModel(
            _("Rope scaling {kind} is not supported (known: {known}).").format(
                kind=kind, known=", ".join(ROPE_TYPES)
            )
        )
    scaling["rope_type"] = kind
    return theta, scaling


def read_hyperparameters(config: dict[str, Any], architecture: str) -> Hyperparameters:
    family = family_of(architecture)
    heads = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    theta, scaling = _rope_settings(config)
    layer_types = tuple(config.get("layer_types") or ())
    window = config.get("sliding_window") if family == "gemma3" else None
    return Hyperparameters(
        family=family,
        vocab_size=int(config["vocab_size"]),
        hidden=hidden,
        layers=int(config["num_hidden_layers"]),
        heads=heads,
        kv_heads=int(config.get("num_key_value_heads") or heads),
        head_dim=int(config.get("head_dim") or hidden // heads),
        feed_forward=int(config["intermediate_size"]),
        context=int(config.get("max_position_embeddings", 2048)),
        rms_eps=float(config.get("rms_norm_eps", 1e-6)),
        rope_theta=theta,
        tied=bool(config.get("tie_word_embeddings", family == "gemma3")),
        rope_scaling=scaling,
        sliding_window=int(window) if window else None,
        layer_types=layer_types,
        rope_local_theta=config.get("rope_local_base_freq"),
    )


def write_metadata(writer: Any, hp: Hyperparameters) -> None:
    """The architecture keys of the GGUF header."""
    import gguf

    writer.add_context_length(hp.context)
    writer.add_embedding_length(hp.hidden)
    writer.add_block_count(hp.layers)
    writer.add_feed_forward_length(hp.feed_forward)
    writer.add_head_count(hp.heads)
    writer.add_head_count_kv(hp.kv_heads)
    writer.add_layer_norm_rms_eps(hp.rms_eps)
    writer.add_rope_freq_base(hp.rope_theta)
    writer.add_key_length(hp.head_dim)
    writer.add_value_length(hp.head_dim)
    writer.add_rope_dimension_count(hp.head_dim)
    writer.add_vocab_size(hp.vocab_size)
    kind = hp.rope_scaling.get("rope_type")
    if kind == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(hp.rope_scaling["factor"]))
    elif kind == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(float(hp.rope_scaling["factor"]))
        original = hp.rope_scaling.get("original_max_position_embeddings", hp.context)
        writer.add_rope_scaling_orig_ctx_len(int(original))
    if hp.family == "gemma3":
        if hp.sliding_window:
            writer.add_sliding_window(hp.sliding_window)
            if hp.layer_types:
                writer.add_sliding_window_pattern(
                    [kind == "sliding_attention" for kind in hp.layer_types]
                )
        if hp.rope_local_theta:
            writer.add_rope_freq_base_swa(float(hp.rope_local_theta))


def llama3_frequency_divisors(hp: Hyperparameters) -> np.ndarray:
    """Per-frequency divisors of llama 3 rope scaling (the ``rope_freqs`` tensor)."""
    scaling = hp.rope_scaling
    factor = float(scaling["factor"])
    low = float(scaling.get("low_freq_factor", 1.0))
    high = float(scaling.get("high_freq_factor", 4.0))
    original = float(scaling.get("original_max_position_embeddings", 8192))
    low_wavelength, high_wavelength = original / low, original / high
    divisors = []
    for i in range(0, hp.head_dim, 2):
        frequency = 1.0 / (hp.rope_theta ** (i / hp.head_dim))
        wavelength = 2 * math.pi / frequency
        if wavelength < high_wavelength:
            divisors.append(1.0)
        elif wavelength > low_wavelength:
            divisors.append(factor)
        else:
            smooth = (original / wavelength - low) / (high - low)
            divisors.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.asarray(divisors, dtype=np.float32)


def _rotary_permute(weight: np.ndarray, heads: int, head_dim: int) -> np.ndarray:
    rows = weight.reshape(heads, 2, head_dim // 2, *weight.shape[1:])
    return rows.swapaxes(1, 2).reshape(weight.shape)


def fix_tensor(hf_name: str, array: np.ndarray, hp: Hyperparameters) -> np.ndarray:
    """Apply the family's fix-up to one tensor (same shape out as in)."""
    if hp.family == "llama":
        if hf_name.endswith("q_proj.weight"):
            return _rotary_permute(array, hp.heads, hp.head_dim)
        if hf_name.endswith("k_proj.weight"):
            return _rotary_permute(array, hp.kv_heads, hp.head_dim)
    if hp.family == "gemma3" and hf_name.endswith("norm.weight"):
        return array + np.asarray(1.0, dtype=array.dtype)
    return array


def skipped(hf_name: str, hp: Hyperparameters) -> bool:
    """Tensors the GGUF does not carry: rotary caches, and the head when it is the embedding."""
    if hf_name.endswith("rotary_emb.inv_freq"):
        return True
    return hp.tied and hf_name == "lm_head.weight"
