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
}
# ONNX variants and their approximate bits per weight (int4 keeps the embedding in fp32).
ONNX_TYPES: dict[str, float] = {"fp32": 32.0, "int8": 8.0, "int4": 4.5}


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


def estimated_bytes(parameters: int, gguf: list[str], onnx: list[str]) -> int:
    """Disk the requested artifacts will take, plus the intermediate f16/f32 GGUF."""
    bits = sum(GGUF_TYPES[name][1] for name in gguf) + sum(ONNX_TYPES[name] for name in onnx)
    if gguf and not set(gguf) & {"f32", "f16", "bf16"}:
        bits += 16.0  # the f16 base every quant is made from
    return int(parameters * bits / 8)
