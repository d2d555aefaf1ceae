"""Our HF -> GGUF writer against PyTorch: logits, greedy tokens, tokenization.

One model per registered family is checked by test_families.py; here, the variants (dtypes,
tied, rope scaling) and the greedy and tokenizer checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.quantize.conftest import MULTILINGUAL
from tests.quantize.helpers import (
    PROMPT,
    gguf_greedy,
    gguf_logits,
    llama,
    torch_greedy,
    torch_ids,
    torch_logits,
)

VARIANTS = [
    "mistral-no-window",
    "llama-bf16-tied",
    "llama-f16",
    "llama3-rope",
    "llama-linear-rope",
    "qwen2-yarn-rope",
]
SCALED = [("llama", "llama3-rope"), ("llama", "llama-linear-rope"), ("qwen2", "qwen2-yarn-rope")]
# One per family; Mistral without its window, as generation runs past a window of 24.
GENERATING = ["llama", "mistral-no-window", "qwen2", "gemma3"]


@pytest.mark.parametrize("name", VARIANTS)
def test_logits_match_pytorch(
    name: str, tiny_models: dict[str, Path], f32_ggufs: dict[str, Path]
) -> None:
    ids = torch_ids(tiny_models[name], PROMPT)
    expected = torch_logits(tiny_models[name], ids)
    got = gguf_logits(f32_ggufs[name], ids)
    assert np.abs(expected).max() > 1.0  # logits with real spread, not near-zero noise
    assert np.abs(expected - got).max() < 1e-4


def test_rope_scaling_variants_really_scale(tiny_models: dict[str, Path]) -> None:
    """Each rope variant has its plain model's weights (same seed): its logits must differ."""
    for plain, scaled in SCALED:
        ids = torch_ids(tiny_models[plain], PROMPT)
        expected = torch_logits(tiny_models[plain], ids)
        assert np.abs(expected - torch_logits(tiny_models[scaled], ids)).max() > 0.1, scaled


@pytest.mark.parametrize("name", GENERATING)
def test_greedy_tokens_identical(
    name: str, tiny_models: dict[str, Path], f32_ggufs: dict[str, Path]
) -> None:
    ids = torch_ids(tiny_models[name], PROMPT)
    assert gguf_greedy(f32_ggufs[name], ids, 12) == torch_greedy(tiny_models[name], ids, 12)


@pytest.mark.parametrize("name", GENERATING)
def test_tokenization_identical(
    name: str, tiny_models: dict[str, Path], f32_ggufs: dict[str, Path]
) -> None:
    model = llama(f32_ggufs[name])
    for text in MULTILINGUAL:
        expected = torch_ids(tiny_models[name], text)
        got = model.tokenize(
            text.encode(),
            add_bos=model.metadata.get("tokenizer.ggml.add_bos_token") == "true",
            special=True,
        )
        assert got == expected, text
        assert model.detokenize(got, special=True).decode() == text


def test_special_tokens_and_template_carried(f32_ggufs: dict[str, Path]) -> None:
    model = llama(f32_ggufs["llama"])
    meta = model.metadata
    assert meta["tokenizer.ggml.pre"] == "llama-bpe"
    assert meta["tokenizer.ggml.eos_token_id"] == "2"
    assert "<|im_start|>" in meta["tokenizer.chat_template"]
    qwen = llama(f32_ggufs["qwen2"]).metadata
    assert qwen["tokenizer.ggml.pre"] == "qwen2"


def test_tied_model_has_no_output_tensor(f32_ggufs: dict[str, Path]) -> None:
    import gguf

    names = {t.name for t in gguf.GGUFReader(f32_ggufs["llama-bf16-tied"]).tensors}
    assert "output.weight" not in names and "token_embd.weight" in names
    untied = {t.name for t in gguf.GGUFReader(f32_ggufs["llama"]).tensors}
    assert "output.weight" in untied


def test_no_part_file_left(f32_ggufs: dict[str, Path]) -> None:
    folder = next(iter(f32_ggufs.values())).parent
    assert not list(folder.glob("*.part"))
