"""SentencePiece tokenizers (``tokenizer.model``), carried into GGUF as llama.cpp's "llama" kind.

llama.cpp's SentencePiece tokenizer merges neighbouring pieces by score (sentencepiece's BPE
algorithm), falls back to ``<0xNN>`` byte pieces for anything outside the vocabulary, and may put
a space before the text. It does no Unicode normalization and never squeezes whitespace. A
tokenizer.model trained any other way would be split differently by llama.cpp than by the
original, so it is refused by name rather than converted wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgemed.i18n import _

# sentencepiece's ModelProto.SentencePiece.Type values; llama.cpp's token types match them.
SP_NORMAL, SP_UNKNOWN, SP_CONTROL, SP_USER_DEFINED, SP_UNUSED, SP_BYTE = 1, 2, 3, 4, 5, 6
_LLAMA_TYPE = {
    SP_NORMAL: 1,
    SP_UNKNOWN: 2,
    SP_CONTROL: 3,
    SP_USER_DEFINED: 4,
    SP_UNUSED: 5,
    SP_BYTE: 6,
}
# TrainerSpec.ModelType names, for the refusal message.
_MODEL_TYPES = {1: "Unigram", 2: "BPE", 3: "word", 4: "char"}
_BPE = 2


@dataclass(frozen=True)
class Piece:
    text: str
    score: float
    token_type: int  # llama.cpp's token type


@dataclass(frozen=True)
class SentencePieceModel:
    """What the GGUF needs from a tokenizer.model, read once."""

    pieces: list[Piece]
    add_space_prefix: bool
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None


def _load(path: Path) -> Any:
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]
    proto.ParseFromString(path.read_bytes())
    return proto


def problems(path: Path) -> list[str]:
    """Every reason llama.cpp would tokenize differently from this tokenizer.model."""
    try:
        proto = _load(path)
    except Exception:  # a corrupt protobuf raises its own DecodeError; any failure means unusable
        return [_("{file} is not a readable SentencePiece model.").format(file=path)]
    found: list[str] = []
    model_type = int(proto.trainer_spec.model_type)
    if model_type != _BPE:
        found.append(
            _(
                "SentencePiece {kind} tokenizers are not supported: llama.cpp's tokenizer "
                "runs SentencePiece BPE models only."
            ).format(kind=_MODEL_TYPES.get(model_type, str(model_type)))
        )
    if proto.normalizer_spec.precompiled_charsmap:
        found.append(
            _(
                "The SentencePiece model normalizes text ({rule}); llama.cpp does not, "
                "so it would split text differently."
            ).format(rule=proto.normalizer_spec.name or "custom")
        )
    if proto.normalizer_spec.remove_extra_whitespaces:
        found.append(
            _(
                "The SentencePiece model squeezes repeated spaces; llama.cpp keeps them, "
                "so it would split text differently."
            )
        )
    if not proto.trainer_spec.byte_fallback:
        found.append(
            _(
                "The SentencePiece model has no byte fallback: llama.cpp cannot encode a "
                "character outside its vocabulary."
            )
        )
    return found


def read_model(path: Path) -> SentencePieceModel:
    """Pieces with their scores and llama.cpp token types, and the model's own special ids."""
    proto = _load(path)
    pieces = [
        Piece(piece.piece, float(piece.score), _LLAMA_TYPE.get(int(piece.type), 1))
        for piece in proto.pieces
    ]

    def known(value: int) -> int | None:
        return value if 0 <= value < len(pieces) else None

    spec = proto.trainer_spec
    return SentencePieceModel(
        pieces=pieces,
        add_space_prefix=bool(proto.normalizer_spec.add_dummy_prefix),
        bos_id=known(int(spec.bos_id)),
        eos_id=known(int(spec.eos_id)),
        unk_id=known(int(spec.unk_id)),
    )


# --- SentencePiece-style BPE tokenizer.json (byte fallback, "▁" for spaces) without its model ---

_SPACE = "\u2581"
_REPLACE_SPACES = {"type": "Replace", "pattern": {"String": " "}, "content": _SPACE}
_PREPEND_SPACE = {"type": "Prepend", "prepend": _SPACE}
_BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")


def _space_prefix(data: dict[str, Any]) -> bool | None:
    """Whether the tokenizer puts "▁" before each stretch of text; None when llama.cpp cannot.

    llama.cpp replaces spaces by "▁" and, optionally, prefixes every stretch of text between
    special tokens with one. HF writes the same thing three ways. Metaspace's prefix differs: with
    prepend_scheme "first" none after a special token, with "always" none before a leading space.
    """
    normalizer, pre = data.get("normalizer"), data.get("pre_tokenizer")
    if pre is None:
        if normalizer == _REPLACE_SPACES:
            return False
        if normalizer == {"type": "Sequence", "normalizers": [_PREPEND_SPACE, _REPLACE_SPACES]}:
            return True
        return None
    metaspace = pre.get("type") == "Metaspace" and pre.get("replacement") == _SPACE
    if normalizer is None and metaspace and pre.get("split", True) is False:
        return False if pre.get("prepend_scheme") == "never" else None
    return None


def _merge_pair(merge: Any) -> tuple[str, str]:
    if isinstance(merge, str):
        left, right = merge.split(" ", 1)
        return left, right
    return str(merge[0]), str(merge[1])


def _first_ranks(model: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    """Each merged token's first merge rank, and why rank order cannot become scores.

    llama.cpp merges by a score per resulting token and will join any two neighbours whose
    concatenation is in the vocabulary; HF BPE merges by a rank per pair, and only listed pairs.
    The two agree when every in-vocabulary split of a token is a listed merge and the merges
    giving one token sit together in the list, which a conversion from SentencePiece produces.
    """
    vocab: dict[str, int] = model["vocab"]
    first: dict[str, int] = {}
    pairs: set[tuple[str, str]] = set()
    scattered: list[str] = []
    previous = None
    for rank, merge in enumerate(model.get("merges", [])):
        left, right = _merge_pair(merge)
        token = left + right
        pairs.add((left, right))
        if token != previous and token in first:
            scattered.append(token)
        first.setdefault(token, rank)
        previous = token
    unlisted = [
        token[:i] + " " + token[i:]
        for token in vocab
        if not _BYTE_PIECE.fullmatch(token)
        for i in range(1, len(token))
        if token[:i] in vocab and token[i:] in vocab and (token[:i], token[i:]) not in pairs
    ]
    found: list[str] = []
    if scattered:
        found.append(
            _("Its merges for one token are spread through the merge list (e.g. {token}).").format(
                token=scattered[0]
            )
        )
    if unlisted:
        found.append(
            _("Pairs in the vocabulary are missing from the merge list (e.g. {pair}).").format(
                pair=unlisted[0]
            )
        )
    return first, found


def bpe_json_problems(data: dict[str, Any]) -> list[str]:
    """Every reason a byte-fallback BPE tokenizer.json cannot become llama.cpp's tokenizer."""
    model = data.get("model", {})
    found: list[str] = []
    if _space_prefix(data) is None:
        found.append(
            _(
                "Its whitespace handling (normalizer {normalizer}, pre-tokenizer {pre}) is not "
                "one llama.cpp reproduces."
            ).format(
                normalizer=(data.get("normalizer") or {}).get("type", "none"),
                pre=(data.get("pre_tokenizer") or {}).get("type", "none"),
            )
        )
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        found.append(_("It marks word pieces with a prefix or suffix, which llama.cpp does not."))
    if model.get("dropout") or model.get("ignore_merges"):
        found.append(_("It uses BPE dropout or ignore_merges, which llama.cpp does not."))
    found += _first_ranks(model)[1]
    if found:
        hint = _("Copy the original tokenizer.model into the folder to convert from it instead.")
        found = [
            _("SentencePiece-style BPE tokenizer.json: {problem} {hint}").format(
                problem=problem, hint=hint
            )
            for problem in found
        ]
    return found


def model_from_bpe_json(data: dict[str, Any]) -> SentencePieceModel:
    """The pieces llama.cpp needs, from a tokenizer.json that ``bpe_json_problems`` accepted."""
    model = data["model"]
    first, _problems = _first_ranks(model)
    by_id: dict[int, Piece] = {}
    for token, i in model["vocab"].items():
        # A lower rank merges first: its score must be higher. Unmerged pieces are never looked up.
        kind = SP_BYTE if _BYTE_PIECE.fullmatch(token) else SP_NORMAL
        by_id[int(i)] = Piece(token, -float(first[token]) if token in first else 0.0, kind)
    unk = model.get("unk_token")
    for added in data.get("added_tokens", []):
        kind = SP_CONTROL if added.get("special") else SP_USER_DEFINED
        by_id[int(added["id"])] = Piece(
            added["content"], 0.0, SP_UNKNOWN if added["content"] == unk else kind
        )
    pieces = [by_id.get(i, Piece(f"[PAD{i}]", 0.0, SP_UNUSED)) for i in range(max(by_id) + 1)]
    unk_id = next((i for i, piece in enumerate(pieces) if piece.text == unk), None)
    return SentencePieceModel(
        pieces=pieces,
        add_space_prefix=bool(_space_prefix(data)),
        bos_id=None,
        eos_id=None,
        unk_id=unk_id,
    )
