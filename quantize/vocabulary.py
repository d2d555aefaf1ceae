"""The tokenizer, carried into GGUF exactly: tokens, merges, pre-tokenizer, specials, template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgemed.i18n import _
from quantize import pretokenizers, sentencepiece_vocab
from quantize.errors import SourceNotFound, UnsupportedModel
from quantize.source import SourceModel

# llama.cpp token types (gguf.TokenType), kept as plain ints so this module stays import-light.
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5
# llama.cpp ignores the pre-tokenizer name for SentencePiece; its own converter writes "default".
SENTENCEPIECE_PRE = "default"
SENTENCEPIECE_BPE = "SentencePiece-style BPE"


@dataclass(frozen=True)
class TokenizerReport:
    """What ``inspect`` says about a tokenizer: its kind, llama.cpp's pre-tokenizer, problems."""

    kind: str
    pre: str | None
    problems: list[str] = field(default_factory=list)
    chat_template: bool = False
    bos: str | None = None
    eos: str | None = None


@dataclass
class Vocabulary:
    """Everything the GGUF tokenizer keys need."""

    model: str
    pre: str
    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    special_ids: dict[str, int]
    add_bos: bool
    add_eos: bool
    chat_template: str | None
    scores: list[float] | None = None  # SentencePiece merge priorities (model "llama")
    add_space_prefix: bool | None = None  # SentencePiece's dummy prefix space


def _tokenizer_json(source: SourceModel) -> dict[str, Any]:
    loaded = source.json_file("tokenizer.json")
    if loaded is None:
        raise SourceNotFound(
            _("{folder} has no tokenizer.json.").format(folder=source.path),
            hint=_("Save the tokenizer next to the model with tokenizer.save_pretrained(folder)."),
        )
    return loaded


def _token_name(config: dict[str, Any], key: str) -> str | None:
    value = config.get(key)
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _sentencepiece_style(data: dict[str, Any]) -> bool:
    model = data.get("model", {})
    return model.get("type") == "BPE" and bool(model.get("byte_fallback")) and not _byte_level(data)


def _byte_level(data: dict[str, Any]) -> bool:
    steps = pretokenizers.signature(data.get("pre_tokenizer"))
    return any(step.startswith("ByteLevel") for step in steps)


def _sentencepiece_file(source: SourceModel) -> Path | None:
    """The tokenizer.model to convert from, when that is what describes this tokenizer.

    A folder may hold both files (Llama 2 ships a tokenizer.model and a SentencePiece-style BPE
    tokenizer.json made from it); the original tokenizer.model carries the scores llama.cpp
    needs, so it is used unless tokenizer.json is byte-level BPE.
    """
    model_file = source.file("tokenizer.model")
    if model_file is None:
        return None
    data = source.json_file("tokenizer.json")
    if data is not None and data.get("model", {}).get("type") == "BPE" and _byte_level(data):
        return None
    return model_file


def inspect_tokenizer(source: SourceModel) -> TokenizerReport:
    """Check the tokenizer without converting it: every reason it cannot be carried over."""
    settings = source.json_file("tokenizer_config.json") or {}
    template = bool(settings.get("chat_template")) or source.file("chat_template.jinja") is not None
    model_file = _sentencepiece_file(source)
    if model_file is not None:
        return TokenizerReport(
            kind="SentencePiece",
            pre=SENTENCEPIECE_PRE,
            problems=sentencepiece_vocab.problems(model_file),
            chat_template=template,
            bos=_token_name(settings, "bos_token"),
            eos=_token_name(settings, "eos_token"),
        )
    try:
        data = _tokenizer_json(source)
    except (UnsupportedModel, SourceNotFound) as error:
        return TokenizerReport(kind="missing", pre=None, problems=[error.message])
    kind = str(data.get("model", {}).get("type", "unknown"))
    problems: list[str] = []
    pre: str | None = None
    if kind != "BPE":
        problems.append(
            _(
                "Tokenizer type {kind} is not supported (only byte-level BPE and SentencePiece "
                "BPE)."
            ).format(kind=kind)
        )
    elif _sentencepiece_style(data):
        # byte_fallback only matters when bytes are not already mapped to characters, i.e. in
        # SentencePiece-style BPE (Llama 2, Gemma); byte-level BPE never falls back.
        kind = SENTENCEPIECE_BPE
        pre = SENTENCEPIECE_PRE
        problems += sentencepiece_vocab.bpe_json_problems(data)
    else:
        pre = pretokenizers.recognise(data.get("pre_tokenizer"))
        if pre is None:
            steps = pretokenizers.signature(data.get("pre_tokenizer"))
            problems.append(
                _(
                    "Unknown pre-tokenizer ({steps}): llama.cpp would split text differently "
                    "from the original, so it is refused rather than guessed."
                ).format(steps=pretokenizers.describe(steps))
            )
    return TokenizerReport(
        kind=kind,
        pre=pre,
        problems=problems,
        chat_template=template,
        bos=_token_name(settings, "bos_token"),
        eos=_token_name(settings, "eos_token"),
    )


def _adds_special(source: SourceModel, bos_id: int | None, eos_id: int | None) -> tuple[bool, bool]:
    """Whether the original tokenizer adds BOS / EOS, found by running it, not by guessing."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source.path / "tokenizer.json"))
    ids = tokenizer.encode("a", add_special_tokens=True).ids
    add_bos = bos_id is not None and len(ids) > 0 and ids[0] == bos_id
    add_eos = eos_id is not None and len(ids) > 1 and ids[-1] == eos_id
    return add_bos, add_eos


def _check_fits(top: int, vocab_size: int) -> None:
    if top >= vocab_size:
        raise UnsupportedModel(
            _("The tokenizer has token ids up to {top} but the model only {size} rows.").format(
                top=top, size=vocab_size
            )
        )


def _chat_template(source: SourceModel, vocab_size: int) -> str | None:
    import gguf

    special = gguf.SpecialVocab(source.path, load_merges=False, n_vocab=vocab_size)
    return special.chat_template if isinstance(special.chat_template, str) else None


def _adds_special_sentencepiece(
    source: SourceModel, bos: int | None, eos: int | None
) -> tuple[bool, bool]:
    """As ``_adds_special``, running the original (slow, tokenizer.model) HF tokenizer."""
    from transformers import AutoTokenizer

    ids = list(AutoTokenizer.from_pretrained(source.path, use_fast=False)("a")["input_ids"])
    add_bos = bos is not None and len(ids) > 0 and ids[0] == bos
    add_eos = eos is not None and len(ids) > 1 and ids[-1] == eos
    return add_bos, add_eos


def _read_sentencepiece(
    source: SourceModel,
    model: sentencepiece_vocab.SentencePieceModel,
    vocab_size: int,
    adds_special: Callable[[SourceModel, int | None, int | None], tuple[bool, bool]],
) -> Vocabulary:
    """SentencePiece pieces, scores and types, plus the tokens HF added after them."""
    settings = source.json_file("tokenizer_config.json") or {}
    by_id = {i: (p.text, p.token_type, p.score) for i, p in enumerate(model.pieces)}
    for key, added in (settings.get("added_tokens_decoder") or {}).items():
        i, text = int(key), str(added["content"])
        if i < len(model.pieces):
            # HF re-declares the model's own <unk>/<s>/</s>; a different text means the two
            # files disagree, and converting either would be wrong for the other.
            if model.pieces[i].text != text:
                raise UnsupportedModel(
                    _(
                        "tokenizer_config.json says token {id} is {added} but tokenizer.model "
                        "says {piece}."
                    ).format(id=i, added=text, piece=model.pieces[i].text)
                )
            continue
        by_id[i] = (text, CONTROL if added.get("special") else USER_DEFINED, 0.0)
    _check_fits(max(by_id), vocab_size)
    tokens: list[str] = []
    types: list[int] = []
    scores: list[float] = []
    for i in range(vocab_size):
        text, kind, score = by_id.get(i, (f"[PAD{i}]", UNUSED, 0.0))
        tokens.append(text)
        types.append(kind)
        scores.append(score)
    ids_by_text = {text: i for i, text in reversed(list(enumerate(tokens)))}
    defaults = {"bos": model.bos_id, "eos": model.eos_id, "unk": model.unk_id, "pad": None}
    special_ids: dict[str, int] = {}
    for role, default in defaults.items():
        name = _token_name(settings, f"{role}_token")
        found = ids_by_text.get(name) if name is not None else default
        if found is not None:
            special_ids[role] = found
    add_bos, add_eos = adds_special(source, special_ids.get("bos"), special_ids.get("eos"))
    return Vocabulary(
        model="llama",
        pre=SENTENCEPIECE_PRE,
        tokens=tokens,
        token_types=types,
        merges=[],
        special_ids=special_ids,
        add_bos=add_bos,
        add_eos=add_eos,
        chat_template=_chat_template(source, vocab_size),
        scores=scores,
        add_space_prefix=model.add_space_prefix,
    )


def read_vocabulary(source: SourceModel, vocab_size: int) -> Vocabulary:
    """The full vocabulary, padded to the model's embedding rows; refuses what it cannot carry."""
    import gguf

    report = inspect_tokenizer(source)
    if report.problems or report.pre is None:
        raise UnsupportedModel("; ".join(report.problems))
    model_file = _sentencepiece_file(source)
    if model_file is not None:
        model = sentencepiece_vocab.read_model(model_file)
        return _read_sentencepiece(source, model, vocab_size, _adds_special_sentencepiece)
    data = _tokenizer_json(source)
    if report.kind == SENTENCEPIECE_BPE:
        model = sentencepiece_vocab.model_from_bpe_json(data)
        return _read_sentencepiece(source, model, vocab_size, _adds_special)
    by_id: dict[int, tuple[str, int]] = {
        int(i): (token, NORMAL) for token, i in data["model"]["vocab"].items()
    }
    for added in data.get("added_tokens", []):
        by_id[int(added["id"])] = (added["content"], CONTROL if added["special"] else USER_DEFINED)
    _check_fits(max(by_id), vocab_size)
    tokens: list[str] = []
    types: list[int] = []
    for i in range(vocab_size):
        token, kind = by_id.get(i, (f"[PAD{i}]", UNUSED))
        tokens.append(token)
        types.append(kind)
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"].get("merges", [])]
    special = gguf.SpecialVocab(source.path, load_merges=False, n_vocab=vocab_size)
    ids = dict(special.special_token_ids)
    add_bos, add_eos = _adds_special(source, ids.get("bos"), ids.get("eos"))
    template = special.chat_template if isinstance(special.chat_template, str) else None
    return Vocabulary(
        model="gpt2",
        pre=report.pre,
        tokens=tokens,
        token_types=types,
        merges=merges,
        special_ids=ids,
        add_bos=add_bos,
        add_eos=add_eos,
        chat_template=template,
    )
