"""Tiny random transformer models made at test time: real HF folders, real BPE tokenizers.

Weights cannot come from a model hub here, and a converter must be tested on every kind of
tensor it meets, so norms and biases get noise (a converter that drops a norm would still pass
with all-ones norms).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The pre-tokenizer regexes of the two families, as their published tokenizer.json files carry them.
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

TRAINING_TEXT = [
    "The patient has a fever and a cough since three days. Breathing is fast.",
    "La patiente a de la fièvre et tousse depuis trois jours. Respiration rapide.",
    "El paciente tiene fiebre y tos desde hace tres días. La respiración es rápida.",
    "Mgonjwa ana homa na kikohozi kwa siku tatu. Anapumua haraka.",
    "O paciente tem febre e tosse há três dias. Respiração rápida.",
    "Check airway, breathing, circulation. Temperature 39.2 C, pulse 128, SpO2 91%.",
    "मरीज़ को तीन दिनों से बुखार और खांसी है।",
    "المريض يعاني من الحمى والسعال منذ ثلاثة أيام.",
] * 20

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def make_tokenizer(folder: Path, split_regex: str, vocab_size: int, bos: bool) -> Any:
    """Train a byte-level BPE with the given pre-tokenizer split and save it as an HF tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(split_regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 8,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(TRAINING_TEXT, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|endoftext|>" if bos else None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHATML
    fast.save_pretrained(folder)
    return fast


def _add_noise(model: Any, seed: int) -> None:
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 1:  # norms and biases
                noise = torch.randn(parameter.shape, generator=generator) * 0.1
                parameter.add_(noise.to(parameter.dtype))


@dataclass(frozen=True)
class TinyFamily:
    """How to make a tiny random model of one HF architecture (one per registered family).

    ``config`` gets the settings every tiny model shares and returns the family's transformers
    config; the model class is ``transformers.<architecture>``. ``tolerance`` is how close
    llama.cpp's logits must come to PyTorch's.
    """

    architecture: str
    config: Callable[[dict[str, Any]], Any]
    split_regex: str = LLAMA3_SPLIT
    bos: bool = True
    tolerance: float = 1e-4


def _llama(common: dict[str, Any]) -> Any:
    import transformers

    return transformers.LlamaConfig(**common, rope_theta=10000.0, bos_token_id=0, eos_token_id=2)


def _mistral(common: dict[str, Any]) -> Any:
    import transformers

    # Mistral 7B v0.1's shape: a sliding window shorter than the context (and than the prompt).
    return transformers.MistralConfig(
        **common, rope_theta=10000.0, sliding_window=MISTRAL_WINDOW, bos_token_id=0, eos_token_id=2
    )


def _qwen2(common: dict[str, Any]) -> Any:
    import transformers

    return transformers.Qwen2Config(
        **common, rope_theta=1000000.0, bos_token_id=0, eos_token_id=2, use_sliding_window=False
    )


def _gemma3(common: dict[str, Any]) -> Any:
    import transformers

    head_dim = common["hidden_size"] // common["num_attention_heads"]
    layers = common["num_hidden_layers"]
    common = {**common, "tie_word_embeddings": True}
    common.pop("rope_scaling", None)
    return transformers.Gemma3TextConfig(
        **common,
        head_dim=head_dim,
        query_pre_attn_scalar=head_dim,
        sliding_window=16,
        layer_types=["sliding_attention"] * (layers - 1) + ["full_attention"],
        rope_theta=1000000.0,
        rope_local_base_freq=10000.0,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=0,
    )


MISTRAL_WINDOW = 24

# Tiny model makers by short name. tests/quantize/test_families.py fails for any architecture
# the converter registers (quantize.families.registered()) that no entry here makes.
TINY: dict[str, TinyFamily] = {
    "llama": TinyFamily("LlamaForCausalLM", _llama),
    "mistral": TinyFamily("MistralForCausalLM", _mistral),
    "qwen2": TinyFamily("Qwen2ForCausalLM", _qwen2, split_regex=QWEN2_SPLIT, bos=False),
    # llama.cpp computes GELU through an fp16 table, so gemma3 cannot match to 1e-4.
    "gemma3": TinyFamily("Gemma3ForCausalLM", _gemma3, tolerance=3e-3),
}


def make_model(
    folder: Path,
    family: str,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    vocab: int = 512,
    tied: bool = False,
    dtype: str = "float32",
    rope_scaling: dict[str, Any] | None = None,
    seed: int = 0,
    **config: Any,
) -> Path:
    """Save a random causal LM of ``family`` (a key of TINY) with its tokenizer.

    ``config`` overrides settings of the family's config (e.g. ``sliding_window=None``).
    """
    import torch
    import transformers

    tiny = TINY[family]
    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    common: dict[str, Any] = dict(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=hidden * 3,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=512,
        tie_word_embeddings=tied,
        rms_norm_eps=1e-5,
        # Larger than the default 0.02 so attention is sharp and position (rope) really matters.
        initializer_range=0.15,
    )
    if rope_scaling is not None:
        common["rope_scaling"] = rope_scaling
    make_tokenizer(folder, tiny.split_regex, vocab, tiny.bos)
    settings = tiny.config(common)
    for key, value in config.items():
        setattr(settings, key, value)
    model = getattr(transformers, tiny.architecture)(settings)
    _add_noise(model, seed)
    model = model.to(getattr(torch, dtype))
    model.config.torch_dtype = dtype
    model.save_pretrained(folder, safe_serialization=True)
    return folder
