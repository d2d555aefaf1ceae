"""Our HF -> GGUF writer: plans every tensor from the headers, then streams them one by one.

The header and the tensor table are written first (shapes are known without loading data); then
each tensor is read, fixed up, cast and appended, and its memory freed before the next. Peak
memory is a few times the largest tensor, whatever the model size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgemed.i18n import _
from quantize.errors import UnsupportedModel
from quantize.families import Family, Hyperparameters, family_for
from quantize.source import SourceModel, TensorEntry, open_source
from quantize.tensors import TensorReader
from quantize.vocabulary import Vocabulary

OUTTYPES = ("f32", "f16", "bf16")
# llama.cpp's file-type codes (gguf.LlamaFileType) for the types this writer produces.
_FILE_TYPE = {"f32": 0, "f16": 1, "bf16": 32}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class PlannedTensor:
    gguf_name: str
    source: TensorEntry | None  # None for tensors the family computes from the config
    shape: tuple[int, ...]
    outtype: str  # f32 / f16 / bf16


@dataclass(frozen=True)
class ConversionPlan:
    source: SourceModel
    family: Family
    hyper: Hyperparameters
    tensors: list[PlannedTensor]
    outtype: str

    @property
    def output_bytes(self) -> int:
        size = {"f32": 4, "f16": 2, "bf16": 2}
        total = 0
        for tensor in self.tensors:
            total += int(np.prod(tensor.shape)) * size[tensor.outtype]
        return total


def plan(source: SourceModel, outtype: str) -> ConversionPlan:
    """Map every source tensor to its GGUF name and type; refuse any tensor we cannot place."""
    if outtype not in OUTTYPES:
        raise UnsupportedModel(_("Unknown GGUF base type {t}.").format(t=outtype))
    family = family_for(source.architecture)
    hp = family.hyperparameters(source.config)
    names = family.tensor_names(hp)
    planned: list[PlannedTensor] = []
    unplaced: list[str] = []
    for hf_name, entry in source.tensors.items():
        if family.skipped(hf_name, hp):
            continue
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            unplaced.append(hf_name)
            continue
        kind = outtype if len(entry.shape) > 1 else "f32"  # norms and biases stay f32
        planned.append(PlannedTensor(gguf_name, entry, entry.shape, kind))
    if unplaced:
        raise UnsupportedModel(
            _("{n} tensors have no place in a {family} GGUF, e.g. {names}.").format(
                n=len(unplaced), family=hp.family, names=", ".join(unplaced[:3])
            )
        )
    for gguf_name, shape in family.computed_tensors(hp).items():
        planned.append(PlannedTensor(gguf_name, None, shape, "f32"))
    return ConversionPlan(source, family, hp, planned, outtype)


def _write_vocabulary(writer: object, vocab: Vocabulary) -> None:
    w = writer  # GGUFWriter, typed loosely: gguf ships without type hints mypy follows
    w.add_tokenizer_model(vocab.model)  # type: ignore[attr-defined]
    w.add_tokenizer_pre(vocab.pre)  # type: ignore[attr-defined]
    w.add_token_list(vocab.tokens)  # type: ignore[attr-defined]
    w.add_token_types(vocab.token_types)  # type: ignore[attr-defined]
    if vocab.scores is not None:
        w.add_token_scores(vocab.scores)  # type: ignore[attr-defined]
    if vocab.model != "llama":  # SentencePiece ranks by scores; BPE needs its merges
        w.add_token_merges(vocab.merges)  # type: ignore[attr-defined]
    if vocab.add_space_prefix is not None:
        w.add_add_space_prefix(vocab.add_space_prefix)  # type: ignore[attr-defined]
    setters = {
        "bos": "add_bos_token_id",
        "eos": "add_eos_token_id",
        "unk": "add_unk_token_id",
        "sep": "add_sep_token_id",
        "pad": "add_pad_token_id",
    }
    for kind, setter in setters.items():
        if kind in vocab.special_ids:
            getattr(w, setter)(vocab.special_ids[kind])
    w.add_add_bos_token(vocab.add_bos)  # type: ignore[attr-defined]
    w.add_add_eos_token(vocab.add_eos)  # type: ignore[attr-defined]
    if vocab.chat_template:
        w.add_chat_template(vocab.chat_template)  # type: ignore[attr-defined]


def _cast(array: np.ndarray, outtype: str) -> tuple[np.ndarray, object | None]:
    import gguf

    if outtype == "f32":
        return np.ascontiguousarray(array, dtype=np.float32), None
    if outtype == "f16":
        return np.ascontiguousarray(array, dtype=np.float16), None
    bf16 = gguf.quants.quantize(
        np.ascontiguousarray(array, dtype=np.float32), gguf.GGMLQuantizationType.BF16
    )
    return bf16, gguf.GGMLQuantizationType.BF16


def write_gguf(
    source_dir: Path,
    out_path: Path,
    outtype: str = "f16",
    name: str | None = None,
    progress: Progress | None = None,
) -> ConversionPlan:
    """Convert an HF folder to one GGUF file (written as ``<out>.part``, renamed when complete)."""
    import gguf

    source = open_source(source_dir)
    conversion = plan(source, outtype)
    family, hp = conversion.family, conversion.hyper
    vocab = family.vocabulary(source, hp)
    part = out_path.with_name(out_path.name + ".part")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(part, family.gguf_arch)
    writer.add_name(name or source.path.name)
    writer.add_file_type(_FILE_TYPE[outtype])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    family.write_metadata(writer, hp)
    _write_vocabulary(writer, vocab)
    element = {"f32": np.float32, "f16": np.float16, "bf16": np.uint8}
    for tensor in conversion.tensors:
        count = int(np.prod(tensor.shape))
        if tensor.outtype == "bf16":
            writer.add_tensor_info(
                tensor.gguf_name,
                (*tensor.shape[:-1], tensor.shape[-1] * 2),
                np.dtype(np.uint8),
                count * 2,
                raw_dtype=gguf.GGMLQuantizationType.BF16,
            )
        else:
            dtype = np.dtype(element[tensor.outtype])
            writer.add_tensor_info(tensor.gguf_name, tensor.shape, dtype, count * dtype.itemsize)
    writer.write_header_to_file(path=part)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    reader = TensorReader()
    try:
        for tensor in conversion.tensors:
            if tensor.source is None:
                array = family.compute_tensor(tensor.gguf_name, hp)
                nbytes = array.nbytes
            else:
                array = family.fix_tensor(tensor.source.name, reader.load(tensor.source), hp)
                nbytes = tensor.source.nbytes
            data, _raw = _cast(array, tensor.outtype)
            del array
            writer.write_tensor_data(data)
            del data
            if progress is not None:
                progress(nbytes)
        writer.close()
    except BaseException:
        writer.close()
        part.unlink(missing_ok=True)
        raise
    os.replace(part, out_path)
    return conversion
