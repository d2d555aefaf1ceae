"""SentencePiece tokenizers (``tokenizer.model``), carried into GGUF as llama.cpp's "llama" kind.

llama.cpp's SentencePiece tokenizer merges neighbouring pieces by score (sentencepiece's BPE
algorithm), falls back to ``<0xNN>`` byte pieces for anything outside the vocabulary, and may put
a space before the text. It does no Unicode normalization and never squeezes whitespace. A
tokenizer.model trained any other way would be split differently by llama.cpp than by the
original, so it is refused by name rather than converted wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgemed.i18n import _

# sentencepiece's ModelProto.SentencePiece.Type values (llama.cpp's token types use the same).
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
