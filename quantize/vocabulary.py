"""The tokenizer, carried into GGUF exactly: tokens, merges, pre-tokenizer, specials, template."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgemed.i18n import _
from quantize import pretokenizers
from quantize.errors import SourceNotFound, UnsupportedModel
from quantize.source import SourceModel

# llama.cpp token types (gguf.TokenType), kept as plain ints so this module stays import-light.
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5


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


def _tokenizer_json(source: SourceModel) -> dict[str, Any]:
    loaded = source.json_file("tokenizer.json")
    if loaded is None:
        if source.file("tokenizer.model") is not None:
            raise UnsupportedModel(
                _("This model has only a SentencePiece tokenizer.model, which is not supported."),
                hint=_(
                    "Load it with transformers and save it again: "
                    "AutoTokenizer.from_pretrained(folder).save_pretrained(folder) writes "
                    "tokenizer.json."
                ),
            )
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


def _byte_level(data: dict[str, Any]) -> bool:
    steps = pretokenizers.signature(data.get("pre_tokenizer"))
    return any(step.startswith("ByteLevel") for step in steps)


def inspect_tokenizer(source: SourceModel) -> TokenizerReport:
    """Check the tokenizer without converting it: every reason it cannot be carried over."""
    try:
        data = _tokenizer_json(source)
    except (UnsupportedModel, SourceNotFound) as error:
        return TokenizerReport(kind="missing", pre=None, problems=[error.message])
    settings = source.json_file("tokenizer_config.json") or {}
    template = bool(settings.get("chat_template")) or source.file("chat_template.jinja") is not None
    kind = str(data.get("model", {}).get("type", "unknown"))
    problems: list[str] = []
    pre: str | None = None
    if kind != "BPE":
        problems.append(
            _("Tokenizer type {kind} is not supported (only byte-level BPE).").format(kind=kind)
        )
    elif data["model"].get("byte_fallback") and not _byte_level(data):
        # byte_fallback only matters when bytes are not already mapped to characters, i.e. in
        # SentencePiece-style BPE (Llama 2, Gemma); byte-level BPE never falls back.
        problems.append(
            _("SentencePiece-style BPE (byte_fallback) tokenizers are not supported yet.")
        )
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


def read_vocabulary(source: SourceModel, vocab_size: int) -> Vocabulary:
    """The full vocabulary, padded to the model's embedding rows; refuses what it cannot carry."""
    import gguf

    report = inspect_tokenizer(source)
    if report.problems or report.pre is None:
        raise UnsupportedModel("; ".join(report.problems))
    data = _tokenizer_json(source)
    by_id: dict[int, tuple[str, int]] = {
        int(i): (token, NORMAL) for token, i in data["model"]["vocab"].items()
    }
    for added in data.get("added_tokens", []):
        by_id[int(added["id"])] = (added["content"], CONTROL if added["special"] else USER_DEFINED)
    if max(by_id) >= vocab_size:
        raise UnsupportedModel(
            _("The tokenizer has token ids up to {top} but the model only {size} rows.").format(
                top=max(by_id), size=vocab_size
            )
        )
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
