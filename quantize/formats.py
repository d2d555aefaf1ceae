"""The output formats a builder can ask for, and what each costs on disk."""

from __future__ import annotations

from collections.abc import Mapping

from edgemed.i18n import _
from quantize.errors import InputErrorWithChoices

# GGUF types: llama.cpp file-type code (llama_ftype) and approximate bits per weight, from
# llama.cpp's quantize table (used only to predict disk and RAM before a run).
GGUF_TYPES: dict[str, tuple[int, float]] = {
    "f32": (0, 32.0),
    "f16": (1, 16.0),
    "bf16": (32, 16.0),
    "q8_0": (7, 8.5),
    "q6_k": (18, 6.56),
    "q5_k_m": (17, 5.69),
    "q4_k_m": (15, 4.89),
    "q4_1": (3, 5.0),
    # Repacked by llama.cpp for AVX2 and Arm dot product (quantize/repacking.py).
    "q4_0": (2, 4.5),
    "iq4_nl": (25, 4.5),
}
# ONNX variants: bits per weight of the MatMul weights, and of the token embedding (read by Gather).
# int8 / int4 are onnxruntime MatMulNBits blocks of 32 with an f32 scale each (+1 bit per weight);
# the embedding is stored fp16, and a tied output layer gets its own 8-bit copy (9 bits per weight).
ONNX_TYPES: dict[str, float] = {"fp32": 32.0, "int8": 9.0, "int4": 5.0}
ONNX_EMBEDDING_BITS: dict[str, float] = {"fp32": 32.0, "int8": 16.0, "int4": 16.0}
ONNX_OUTPUT_BITS = 9.0  # the output layer, 8-bit blocks of 32, in both quantized variants
# When the caller does not know the embedding's size: a small model's share (SmolLM2-135M: 21%,
# tied), so the disk estimate errs on the high side for larger models.
DEFAULT_EMBEDDING_SHARE = 0.25


def parse_list(text: str | None, known: Mapping[str, object], what: str) -> list[str]:
    """``"f16,q4_k_m"`` -> ``["f16", "q4_k_m"]``, refusing unknown names with the known ones."""
    if not text:
        return []
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InputErrorWithChoices(
            _("Unknown {what} type: {names}.").format(what=what, names=", ".join(unknown)),
            hint=_("Choose from: {known}.").format(known=", ".join(known)),
        )
    return list(dict.fromkeys(names))


def onnx_bytes(
    parameters: int, variant: str, embedding: int | None = None, tied: bool = True
) -> int:
    """Disk one ONNX variant takes: the MatMul weights, the embedding and the output layer.

    ``embedding`` is the embedding's element count (vocabulary x hidden); ``tied`` says the
    output layer shares it (the parameter count then holds it once). fp32 reads a tied output
    layer through a Transpose of the embedding; the quantized variants give it its own 8-bit copy.
    """
    if embedding is None:
        embedding = int(parameters * DEFAULT_EMBEDDING_SHARE)
    rest = max(parameters - embedding - (0 if tied else embedding), 0)
    output_bits = 32.0 if variant == "fp32" else ONNX_OUTPUT_BITS
    if variant == "fp32" and tied:
        output_bits = 0.0
    bits = (
        rest * ONNX_TYPES[variant]
        + embedding * ONNX_EMBEDDING_BITS[variant]
        + embedding * output_bits
    )
    return int(bits / 8)


def estimated_bytes(
    parameters: int,
    gguf: list[str],
    onnx: list[str],
    embedding: int | None = None,
    tied: bool = True,
) -> int:
    """Disk the requested artifacts will take, plus the intermediate f16/f32 GGUF."""
    bits = sum(GGUF_TYPES[name][1] for name in gguf)
    if gguf and not set(gguf) & {"f32", "f16", "bf16"}:
        bits += 16.0  # the f16 base every quant is made from
    onnx_total = sum(onnx_bytes(parameters, name, embedding, tied) for name in onnx)
    if onnx and "fp32" not in onnx:
        onnx_total += onnx_bytes(parameters, "fp32", embedding, tied)  # the export they start from
    return int(parameters * bits / 8) + onnx_total
