"""Tiny random transformer models made at test time: real HF folders, real BPE tokenizers.

Weights cannot come from a model hub here, and a converter must be tested on every kind of
tensor it meets, so norms and biases get noise (a converter that drops a norm would still pass
with all-ones norms).
"""

from __future__ import annotations

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
) -> Path:
    """Save a random causal LM of ``family`` (llama, qwen2, gemma3) with its tokenizer."""
    import torch
    import transformers

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
    tokenizer_bos = family != "qwen2"
    make_tokenizer(folder, LLAMA3_SPLIT if family != "qwen2" else QWEN2_SPLIT, vocab, tokenizer_bos)
    if family == "llama":
        config = transformers.LlamaConfig(
            **common, rope_theta=10000.0, rope_scaling=rope_scaling, bos_token_id=0, eos_token_id=2
        )
        model = transformers.LlamaForCausalLM(config)
    elif family == "qwen2":
        config = transformers.Qwen2Config(
            **common, rope_theta=1000000.0, bos_token_id=0, eos_token_id=2, use_sliding_window=False
        )
        model = transformers.Qwen2ForCausalLM(config)
    elif family == "gemma3":
        head_dim = hidden // heads
        config = transformers.Gemma3TextConfig(
            **{**common, "tie_word_embeddings": True},
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
        model = transformers.Gemma3ForCausalLM(config)
    else:
        raise ValueError(family)
    _add_noise(model, seed)
    model = model.to(getattr(torch, dtype))
    model.config.torch_dtype = dtype
    model.save_pretrained(folder, safe_serialization=True)
    return folder
