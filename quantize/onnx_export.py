"""HF -> ONNX with a KV cache (optimum-onnx), then onnxruntime block-wise int8 and int4 weights.

Each variant is a folder (model.onnx + config + tokenizer files) that onnxruntime, or optimum's
ORTModelForCausalLM, opens directly. Folders are built under ``<name>.part`` and renamed when
complete, so a folder with the final name is always whole.

Both quantized variants are weight-only, block-wise (onnxruntime's ``MatMulNBits`` contrib op):
every MatMul weight is cut into blocks of ``block_size`` input rows, each with its own scale
(symmetric, no zero point). With ``accuracy_level=4`` the kernel also quantizes the activations
to int8 per row in blocks, so an outlier (SmolLM2's down_proj inputs reach ~3,000 on the first
token of a window, a typical token's largest value is ~1.6) spoils only its own block.
``quantize_dynamic`` uses one activation scale for the whole call and rounds every other token
to zero on such a model (KLD 0.78-0.89 on SmolLM2 against 0.005 for the block-wise int8); it is
kept here, under its own name, only so the bench can keep measuring it.

The output layer is quantized as a weight of its own: optimum ties it to the embedding through
a Transpose of the embedding matrix, which no weight quantizer sees as a constant, so it is
given its own transposed copy first. It is always 8-bit (int4 included: llama.cpp keeps it at
6 bits in q4_k_m for the same reason, it decides every token). The embedding itself is only read
row by row (Gather), so it is kept in fp16 and cast to f32 after the lookup.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from edgemed.i18n import _
from quantize.errors import QuantizeError
from quantize.families import family_for
from quantize.source import open_source

VARIANTS = ("fp32", "int8", "int4")
# Block sizes: int8 32 (llama.cpp's q8_0 block); int4 32 unless the caller asks for another.
INT8_BLOCK = 32
INT4_BLOCK = 32
ACCURACY_LEVEL = 4  # int8 activations, block-wise, inside MatMulNBits
LOGITS = "logits"


def _part(folder: Path) -> Path:
    part = folder.with_name(folder.name + ".part")
    if part.exists():
        shutil.rmtree(part)  # left by an interrupted run: start that variant again
    return part


def export_fp32(source_dir: Path, folder: Path) -> Path:
    """Export a causal LM with past key/values in and out (the family's task, with past).

    An architecture no family accepts is refused by name here, before optimum runs.
    """
    from optimum.exporters.onnx import main_export

    family = family_for(open_source(source_dir).architecture)
    part = _part(folder)
    try:
        main_export(
            str(source_dir),
            output=str(part),
            task=family.onnx_task,
            device="cpu",
            do_validation=False,
        )
    except Exception as error:  # optimum raises bare exceptions of many kinds
        shutil.rmtree(part, ignore_errors=True)
        raise QuantizeError(
            _("The ONNX export of {source} failed: {error}").format(source=source_dir, error=error)
        ) from error
    os.replace(part, folder)
    return folder


def _copy_side_files(fp32: Path, part: Path) -> None:
    part.mkdir(parents=True)
    for item in fp32.iterdir():
        if item.is_file() and not item.name.startswith("model.onnx"):
            shutil.copy2(item, part / item.name)


def _initializers(model: Any) -> dict[str, Any]:
    return {tensor.name: tensor for tensor in model.graph.initializer}


def _consumers(model: Any, name: str) -> list[Any]:
    return [node for node in model.graph.node if name in node.input]


def _producer(model: Any, name: str) -> Any | None:
    return next((node for node in model.graph.node if name in node.output), None)


def _lm_head(model: Any) -> Any | None:
    """The MatMul that makes the logits: walked back from the ``logits`` output (a few hops)."""
    outputs = [o.name for o in model.graph.output]
    name: str | None = LOGITS if LOGITS in outputs else (outputs[0] if outputs else None)
    for _hop in range(4):
        node = _producer(model, name) if name else None
        if node is None:
            return None
        if node.op_type == "MatMul":
            return node
        name = node.input[0] if node.input else None
    return None


def untie_lm_head(model: Any) -> str | None:
    """Give the output MatMul a constant weight of its own; return its (possibly new) name.

    optimum's tied-weight export reads the embedding through ``Transpose`` for the output layer,
    so the weight quantizer, which only takes constant weights, left it in f32 (and the embedding
    could not be stored smaller either). The transposed copy costs the quantized size only.
    """
    from onnx import numpy_helper

    head = _lm_head(model)
    if head is None:
        return None
    if not head.name:
        head.name = "lm_head_MatMul"
    weights = _initializers(model)
    if head.input[1] in weights:
        return str(head.name)  # untied: already a constant
    transpose = _producer(model, head.input[1])
    if transpose is None or transpose.op_type != "Transpose" or transpose.input[0] not in weights:
        return str(head.name)  # some other construction: left as exported
    perm = [list(a.ints) for a in transpose.attribute if a.name == "perm"]
    if perm and perm[0] != [1, 0]:
        return str(head.name)
    source = numpy_helper.to_array(weights[transpose.input[0]])
    copy = numpy_helper.from_array(source.T.copy(), name=transpose.input[0] + "_lm_head_T")
    model.graph.initializer.append(copy)
    old = head.input[1]
    head.input[1] = copy.name
    if not _consumers(model, old):
        model.graph.node.remove(transpose)
    return str(head.name)


def embedding_to_fp16(model: Any) -> list[str]:
    """Store the token embedding (the Gather on ``input_ids``) in fp16, cast to f32 after lookup.

    Only an f32 initializer that nothing but Gather nodes read is changed, so no other consumer
    sees a new type. Returns the initializers changed.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weights = _initializers(model)
    graph_inputs = {i.name for i in model.graph.input}
    changed: list[str] = []
    for gather in [n for n in model.graph.node if n.op_type == "Gather"]:
        table = gather.input[0]
        if gather.input[1] != "input_ids" or table not in weights or table in graph_inputs:
            continue
        if weights[table].data_type != TensorProto.FLOAT:
            continue
        readers = _consumers(model, table)
        if any(node.op_type != "Gather" for node in readers):
            continue
        half = numpy_helper.from_array(
            numpy_helper.to_array(weights[table]).astype(np.float16), name=table
        )
        weights[table].CopyFrom(half)
        for reader in readers:
            original = reader.output[0]
            reader.output[0] = original + "_fp16"
            cast = helper.make_node(
                "Cast",
                [reader.output[0]],
                [original],
                name=(reader.name or table) + "_to_f32",
                to=TensorProto.FLOAT,
            )
            nodes = list(model.graph.node)
            nodes.insert(nodes.index(reader) + 1, cast)
            model.graph.ClearField("node")
            model.graph.node.extend(nodes)
        changed.append(table)
    return changed


def _weight_only(model: Any, bits: int, block_size: int, exclude: tuple[str, ...] = ()) -> Any:
    """Every MatMul with a constant weight (but ``exclude``) -> MatMulNBits, symmetric."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    # The module sets up INFO logging at import and logs every node it skips.
    logging.getLogger(MatMulNBitsQuantizer.__module__).setLevel(logging.WARNING)
    quantizer = MatMulNBitsQuantizer(
        model,
        bits=bits,
        block_size=block_size,
        is_symmetric=True,
        accuracy_level=ACCURACY_LEVEL,
        nodes_to_exclude=list(exclude),
    )
    quantizer.process()
    return quantizer.model.model


def _blockwise(
    source: Path, target: Path, bits: int, block_size: int, fp16_embedding: bool
) -> None:
    import onnx

    model = onnx.load(str(source))
    head = untie_lm_head(model)
    if bits == 8 or head is None:
        model = _weight_only(model, bits, block_size)
    else:
        model = _weight_only(model, bits, block_size, exclude=(head,))
        model = _weight_only(model, 8, INT8_BLOCK)  # only the output layer is left
    if fp16_embedding:
        embedding_to_fp16(model)
    large = model.ByteSize() > 1_800_000_000 or (source.parent / "model.onnx_data").exists()
    if large:
        onnx.save_model(
            model,
            str(target),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="model.onnx_data",
        )
    else:
        onnx.save_model(model, str(target))


def quantize_dynamic_int8(fp32: Path, folder: Path) -> Path:
    """The former int8: ``quantize_dynamic`` (QInt8 weights, one activation scale per call).

    Not a variant a builder can ask for: measured on SmolLM2 it loses 0.78-0.89 nats (KLD) where
    the block-wise int8 loses 0.005. Kept for the bench's comparison row only.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    part = _part(folder)
    _copy_side_files(fp32, part)
    quantize_dynamic(fp32 / "model.onnx", part / "model.onnx", weight_type=QuantType.QInt8)
    os.replace(part, folder)
    return folder


def quantize_onnx(
    fp32: Path,
    folder: Path,
    variant: str,
    block_size: int | None = None,
    fp16_embedding: bool = True,
) -> Path:
    """int8 / int4: block-wise symmetric weights (MatMulNBits, accuracy level 4).

    int8: 8-bit blocks of 32, the output layer its own 8-bit weight, the embedding fp16.
    int4: 4-bit blocks of ``block_size`` (32 by default), the output layer 8-bit, embedding fp16.
    """
    if variant not in ("int8", "int4"):
        raise QuantizeError(_("Unknown ONNX variant {v}.").format(v=variant))
    bits = 8 if variant == "int8" else 4
    block = block_size or (INT8_BLOCK if bits == 8 else INT4_BLOCK)
    part = _part(folder)
    _copy_side_files(fp32, part)
    try:
        _blockwise(fp32 / "model.onnx", part / "model.onnx", bits, block, fp16_embedding)
    except Exception:
        shutil.rmtree(part, ignore_errors=True)
        raise
    os.replace(part, folder)
    return folder
