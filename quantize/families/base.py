"""The family registry: one class per model family, found by the HF class names it accepts.

A family says everything the converters need that differs from one model family to another:
llama.cpp's architecture name, how config.json becomes the GGUF header, which tensors are left
out or fixed up (each fix-up because llama.cpp computes something differently from
transformers), tensors computed from the config, the tokenizer, and the optimum export config the
ONNX export relies on. The writers (gguf_export, onnx_export) only ever call a family's methods;
nothing outside quantize/families names a family.

The shape follows llama.cpp's convert_hf_to_gguf.py (a base class whose subclasses are registered
by HF architecture names and override hooks) and optimum's export configs (one class per model
type, the task it exports). The base class is the plain llama-like decoder; a family overrides
only what differs. How to add one: docs/quantize.md, "Adding a model family".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from edgemed.i18n import _
from quantize.errors import UnsupportedModel
from quantize.source import SourceModel
from quantize.vocabulary import Vocabulary, read_vocabulary

ROPE_TYPES = ("linear", "llama3", "yarn")
ROPE_FREQS = "rope_freqs.weight"

# Known names refused, with the reason and what to do instead.
REFUSED: dict[str, str] = {
    "Gemma3ForConditionalGeneration": "the vision-language Gemma 3 (export its language model "
    "as Gemma3ForCausalLM first)",
    "MixtralForCausalLM": "mixture-of-experts models",
    "Qwen2MoeForCausalLM": "mixture-of-experts models",
}


@dataclass(frozen=True)
class Hyperparameters:
    """The numbers a GGUF header needs, read from config.json."""

    family: str  # llama.cpp's architecture name (general.architecture)
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


class Family:
    """A llama-like decoder; subclasses set the class attributes and override what differs."""

    gguf_arch: ClassVar[str]  # llama.cpp's architecture name, e.g. "llama"
    onnx_model_type: ClassVar[str]  # optimum's model type whose export config is used
    onnx_task: ClassVar[str] = "text-generation-with-past"  # KV cache in and out
    architectures: ClassVar[tuple[str, ...]] = ()  # set by @register
    tied_by_default: ClassVar[bool] = False  # tie_word_embeddings when config.json omits it
    # True when llama.cpp runs this family's sliding-window attention itself. When it does not,
    # a window shorter than the context caps the GGUF's context at the window: within it, full
    # attention and sliding-window attention are the same computation.
    runs_sliding_window: ClassVar[bool] = False

    def __init__(self, architecture: str) -> None:
        self.architecture = architecture

    # -- config.json -> Hyperparameters ---------------------------------------------------------

    def sliding_window(self, config: dict[str, Any]) -> int | None:
        """The attention window transformers applies, or None for full attention."""
        return None

    def hyperparameters(self, config: dict[str, Any]) -> Hyperparameters:
        heads = int(config["num_attention_heads"])
        hidden = int(config["hidden_size"])
        theta, scaling = rope_settings(config)
        window = self.sliding_window(config)
        context = int(config.get("max_position_embeddings", 2048))
        if window and not self.runs_sliding_window:
            context = min(context, window)
        return Hyperparameters(
            family=self.gguf_arch,
            vocab_size=int(config["vocab_size"]),
            hidden=hidden,
            layers=int(config["num_hidden_layers"]),
            heads=heads,
            kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or hidden // heads),
            feed_forward=int(config["intermediate_size"]),
            context=context,
            rms_eps=float(config.get("rms_norm_eps", 1e-6)),
            rope_theta=theta,
            tied=bool(config.get("tie_word_embeddings", self.tied_by_default)),
            rope_scaling=scaling,
            sliding_window=window,
            layer_types=tuple(config.get("layer_types") or ()),
            rope_local_theta=config.get("rope_local_base_freq"),
        )

    # -- the GGUF header --------------------------------------------------------------------------

    def write_metadata(self, writer: Any, hp: Hyperparameters) -> None:
        """The architecture keys of the GGUF header (``writer`` is a gguf.GGUFWriter)."""
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

    def vocabulary(self, source: SourceModel, hp: Hyperparameters) -> Vocabulary:
        """The tokenizer keys. The tokenizer's kind (byte-level BPE with a known pre-tokenizer,
        SentencePiece) is recognised from its files, not from the family; a family whose
        tokenizer needs more (as llama.cpp's set_vocab overrides do) overrides this."""
        return read_vocabulary(source, hp.vocab_size)

    # -- tensors --------------------------------------------------------------------------------

    def tensor_names(self, hp: Hyperparameters) -> Any:
        """gguf's HF -> GGUF tensor-name map for this architecture (a gguf.TensorNameMap)."""
        import gguf

        arch = next(a for a in gguf.MODEL_ARCH if gguf.MODEL_ARCH_NAMES[a] == self.gguf_arch)
        return gguf.get_tensor_name_map(arch, hp.layers)

    def skipped(self, hf_name: str, hp: Hyperparameters) -> bool:
        """Tensors the GGUF does not carry: rotary caches, and the head when it is the embedding."""
        if hf_name.endswith("rotary_emb.inv_freq"):
            return True
        return hp.tied and hf_name == "lm_head.weight"

    def fix_tensor(self, hf_name: str, array: np.ndarray, hp: Hyperparameters) -> np.ndarray:
        """The family's fix-up of one tensor (same shape out as in); none by default."""
        return array

    def computed_tensors(self, hp: Hyperparameters) -> dict[str, tuple[int, ...]]:
        """Tensors made from the config, not read from the weights: GGUF name -> shape.

        llama 3 rope scaling is a per-frequency divisor llama.cpp reads from ``rope_freqs``.
        """
        if hp.rope_scaling.get("rope_type") == "llama3":
            return {ROPE_FREQS: (hp.head_dim // 2,)}
        return {}

    def compute_tensor(self, gguf_name: str, hp: Hyperparameters) -> np.ndarray:
        if gguf_name == ROPE_FREQS:
            return llama3_frequency_divisors(hp)
        raise KeyError(gguf_name)


_REGISTRY: dict[str, type[Family]] = {}

F = TypeVar("F", bound=type[Family])


def register(*architectures: str) -> Callable[[F], F]:
    """Class decorator: the family converts models whose config names one of ``architectures``."""
    if not architectures:
        raise ValueError("register() needs at least one HF architecture name")

    def add(family: F) -> F:
        for name in architectures:
            if name in _REGISTRY:
                raise ValueError(f"{name} is already registered to {_REGISTRY[name].__name__}")
            _REGISTRY[name] = family
        family.architectures = (*family.__dict__.get("architectures", ()), *architectures)
        return family

    return add


def registered() -> dict[str, type[Family]]:
    """Every HF architecture name the converters accept, with its family class."""
    return dict(_REGISTRY)


def family_for(architecture: str) -> Family:
    """The family that converts an HF class name, or a refusal naming what is supported."""
    family = _REGISTRY.get(architecture)
    if family is not None:
        return family(architecture)
    why = REFUSED.get(architecture)
    if why:
        message = _("{arch} is not supported: {why}.").format(arch=architecture, why=why)
    else:
        message = _("Architecture {arch} is not supported.").format(arch=architecture)
    supported = ", ".join(f"{name} ({cls.gguf_arch})" for name, cls in sorted(_REGISTRY.items()))
    raise UnsupportedModel(
        message,
        hint=_(
            "Supported: {names}. Another family needs a class in quantize/families "
            "(docs/quantize.md, 'Adding a model family')."
        ).format(names=supported),
    )


def read_hyperparameters(config: dict[str, Any], architecture: str) -> Hyperparameters:
    return family_for(architecture).hyperparameters(config)


def rope_settings(config: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """rope theta and scaling; scaling llama.cpp cannot compute is refused."""
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
