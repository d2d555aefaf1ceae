"""SentencePiece (tokenizer.model) models: converted, tokenized and run like the original."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quantize.readiness import check
from tests.quantize.conftest import MULTILINGUAL
from tests.quantize.helpers import (
    PROMPT,
    gguf_greedy,
    gguf_logits,
    llama,
    torch_greedy,
    torch_logits,
)
from tests.quantize.test_inspect import PLENTY
from tests.quantize.tiny_models import CHATML, make_model

# Written for this test: clinic phrases in several scripts, so merges exist across them.
LINES = [
    "The child has a high fever and refuses to drink since yesterday.",
    "L'enfant a une forte fièvre et refuse de boire depuis hier. Élevée, très élevée.",
    "Mtoto ana homa kali na anakataa kunywa tangu jana. Pumzi ni haraka.",
    "El niño tiene fiebre alta y no quiere beber desde ayer. Respiración rápida.",
    "الطفل مصاب بحمى شديدة ويرفض الشرب منذ الأمس.",
    "Pulse 132, temperature 39.8, SpO2 90%, weight 12 kg.",
    "Give oral rehydration salts; watch for danger signs: lethargy, convulsions.",
    "Ãœ ñ ç ø å ß — accents and dashes, quotes « like this ».",
]

SAMPLES = [
    *MULTILINGUAL,
    *LINES,
    "Homa 🤒 na upele 🩹 — emoji go through byte fallback.",
    "Fièvre élevée chez l'enfant; déshydratation sévère ? Ñandú, São Tomé.",
    "الطفل يرفض الشرب 😢 منذ يومين",
    "Mgonjwa: <s> inside text, then </s> and <|im_end|>x",
    "ǅ ﬁ ½ Ⅻ ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "",
    " leading space and trailing  ",
]


def _train(prefix: Path, **options: Any) -> Path:
    import sentencepiece

    settings: dict[str, Any] = dict(
        model_type="bpe",
        vocab_size=400,
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        split_digits=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    settings.update(options)
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(LINES * 10), model_prefix=str(prefix), **settings
    )
    return prefix.with_suffix(".model")


def _slow(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, use_fast=False)


@pytest.fixture(scope="module")
def sp_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama whose tokenizer is a slow LlamaTokenizer on a fresh tokenizer.model."""
    from transformers import LlamaTokenizer

    work = tmp_path_factory.mktemp("sentencepiece")
    folder = make_model(work / "sp-llama", "llama", seed=3)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)
    tokenizer = LlamaTokenizer(vocab_file=str(_train(work / "sp")), legacy=True)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(folder)
    assert not (folder / "tokenizer.json").exists()
    return folder


@pytest.fixture(scope="module")
def sp_gguf(sp_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from quantize.gguf_export import write_gguf

    out = tmp_path_factory.mktemp("sp-gguf") / "sp-llama.gguf"
    write_gguf(sp_llama, out, "f32")
    return out


def test_inspect_says_go(sp_llama: Path, tmp_path: Path) -> None:
    result = check(sp_llama, ["f16"], [], tmp_path, PLENTY)
    assert result.go, result.problems
    assert result.tokenizer.kind == "SentencePiece"
    assert result.tokenizer.bos == "<s>" and result.tokenizer.eos == "</s>"
    assert result.tokenizer.chat_template


def test_vocabulary_carried(sp_gguf: Path) -> None:
    import gguf

    reader = gguf.GGUFReader(sp_gguf)
    field = reader.get_field("tokenizer.ggml.model")
    assert field is not None and field.contents() == "llama"
    tokens = reader.get_field("tokenizer.ggml.tokens")
    types = reader.get_field("tokenizer.ggml.token_type")
    scores = reader.get_field("tokenizer.ggml.scores")
    assert tokens is not None and types is not None and scores is not None
    by_text = dict(zip(tokens.contents(), types.contents(), strict=True))
    assert by_text["<0xF0>"] == gguf.TokenType.BYTE
    assert by_text["<s>"] == gguf.TokenType.CONTROL
    assert by_text["<unk>"] == gguf.TokenType.UNKNOWN
    assert by_text["<|im_start|>"] == gguf.TokenType.CONTROL
    assert len(set(scores.contents())) > 100  # real merge priorities, not a placeholder
    meta = llama(sp_gguf).metadata
    assert meta["tokenizer.ggml.bos_token_id"] == "1"
    assert meta["tokenizer.ggml.eos_token_id"] == "2"
    assert meta["tokenizer.ggml.unknown_token_id"] == "0"
    assert meta["tokenizer.ggml.add_bos_token"] == "true"
    assert meta["tokenizer.ggml.add_eos_token"] == "false"
    assert "<|im_start|>" in meta["tokenizer.chat_template"]


def test_tokenization_identical(sp_llama: Path, sp_gguf: Path) -> None:
    original = _slow(sp_llama)
    model = llama(sp_gguf)
    byte_tokens = 0
    for text in SAMPLES:
        expected = list(original(text)["input_ids"])
        got = model.tokenize(text.encode(), add_bos=True, special=True)
        assert got == expected, text
        byte_tokens += sum(
            1 for t in expected if original.convert_ids_to_tokens(t).startswith("<0x")
        )
    assert byte_tokens > 10  # emoji and rare letters really went through byte fallback


def test_logits_and_greedy_match_pytorch(sp_llama: Path, sp_gguf: Path) -> None:
    ids = list(_slow(sp_llama)(PROMPT)["input_ids"])
    assert len(ids) > 16
    expected = torch_logits(sp_llama, ids)
    got = gguf_logits(sp_gguf, ids)
    assert np.abs(expected).max() > 1.0
    assert np.abs(expected - got).max() < 1e-4
    assert gguf_greedy(sp_gguf, ids, 12) == torch_greedy(sp_llama, ids, 12)


def _with_tokenizer(sp_llama: Path, tmp_path: Path, model_file: Path) -> Path:
    folder = tmp_path / "variant"
    shutil.copytree(sp_llama, folder)
    shutil.copy(model_file, folder / "tokenizer.model")
    return folder


def test_unigram_model_refused(sp_llama: Path, tmp_path: Path) -> None:
    folder = _with_tokenizer(sp_llama, tmp_path, _train(tmp_path / "uni", model_type="unigram"))
    result = check(folder, ["f16"], [], tmp_path, PLENTY)
    assert not result.go
    assert any("SentencePiece Unigram" in p and "BPE" in p for p in result.problems)


def test_normalizing_model_without_byte_fallback_refused(sp_llama: Path, tmp_path: Path) -> None:
    model_file = _train(
        tmp_path / "nfkc",
        normalization_rule_name="nmt_nfkc",
        remove_extra_whitespaces=True,
        byte_fallback=False,
    )
    result = check(_with_tokenizer(sp_llama, tmp_path, model_file), ["f16"], [], tmp_path, PLENTY)
    assert not result.go
    assert any("normalizes text (nmt_nfkc)" in p for p in result.problems)
    assert any("squeezes repeated spaces" in p for p in result.problems)
    assert any("no byte fallback" in p for p in result.problems)


def _json_only(sp_llama: Path, tmp_path: Path, edit: dict[str, Any] | None = None) -> Path:
    """The model with the fast tokenizer.json HF derives from its tokenizer.model, and no model."""
    from transformers import LlamaTokenizerFast

    folder = tmp_path / "json-only"
    shutil.copytree(sp_llama, folder)
    LlamaTokenizerFast.from_pretrained(folder, legacy=True).save_pretrained(folder)
    (folder / "tokenizer.model").unlink()
    # The saved add_prefix_space would make transformers rebuild from the missing tokenizer.model.
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    settings.pop("add_prefix_space", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(settings), encoding="utf-8")
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    assert data["model"]["byte_fallback"] and data["normalizer"]["type"] == "Sequence"
    data.update(edit or {})
    (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def _metaspace(scheme: str) -> dict[str, Any]:
    pre = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": scheme, "split": False}
    return {"normalizer": None, "pre_tokenizer": pre}


REPLACE_ONLY = {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}
SPACE_HANDLING = {
    "prepend-and-replace": {},
    "metaspace-never": _metaspace("never"),
    "replace-only": {"normalizer": REPLACE_ONLY},
}


@pytest.mark.parametrize("variant", list(SPACE_HANDLING))
def test_sentencepiece_style_bpe_json_alone(variant: str, sp_llama: Path, tmp_path: Path) -> None:
    """No tokenizer.model: merge ranks become scores; HF's fast tokenizer is the reference."""
    from transformers import AutoTokenizer

    from quantize.gguf_export import write_gguf

    folder = _json_only(sp_llama, tmp_path, SPACE_HANDLING[variant])
    result = check(folder, ["f16"], [], tmp_path, PLENTY)
    assert result.go and result.tokenizer.kind == "SentencePiece-style BPE", result.problems
    write_gguf(folder, tmp_path / "json.gguf", "f32")
    original = AutoTokenizer.from_pretrained(folder)
    model = llama(tmp_path / "json.gguf")
    for text in SAMPLES:
        expected = list(original(text)["input_ids"])
        assert model.tokenize(text.encode(), add_bos=True, special=True) == expected, text


def test_model_file_preferred_when_both_are_there(sp_llama: Path, tmp_path: Path) -> None:
    from transformers import LlamaTokenizerFast

    folder = tmp_path / "both"
    shutil.copytree(sp_llama, folder)
    LlamaTokenizerFast.from_pretrained(folder, legacy=True).save_pretrained(folder)
    assert (folder / "tokenizer.json").is_file() and (folder / "tokenizer.model").is_file()
    both = check(folder, ["f16"], [], tmp_path, PLENTY)
    assert both.go and both.tokenizer.kind == "SentencePiece", both.problems


def test_bpe_json_llama_cpp_cannot_follow_refused(sp_llama: Path, tmp_path: Path) -> None:
    first = _json_only(sp_llama, tmp_path, _metaspace("first"))
    problems = check(first, ["f16"], [], tmp_path, PLENTY).problems
    assert any("Metaspace" in p and "tokenizer.model" in p for p in problems), problems
    data = json.loads((first / "tokenizer.json").read_text(encoding="utf-8"))
    data["pre_tokenizer"]["prepend_scheme"] = "always"  # no prefix before a leading space
    (first / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    problems = check(first, ["f16"], [], tmp_path, PLENTY).problems
    assert any("Metaspace" in p for p in problems), problems
    data = json.loads((first / "tokenizer.json").read_text(encoding="utf-8"))
    merges = data["model"]["merges"]
    data.update({"normalizer": REPLACE_ONLY, "pre_tokenizer": None})
    data["model"]["merges"] = merges[1:]  # a pair in the vocabulary that BPE may no longer join
    (first / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    problems = check(first, ["f16"], [], tmp_path, PLENTY).problems
    assert any("missing from the merge list" in p for p in problems), problems
    data["model"]["merges"] = [merges[-1], *merges[1:-1], merges[0], merges[-1]]
    (first / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    problems = check(first, ["f16"], [], tmp_path, PLENTY).problems
    assert any("spread through the merge list" in p for p in problems), problems
