"""Which GGUF types llama.cpp repacks into the fastest kernels of a CPU, and so which to prefer.

When llama.cpp loads a GGUF on the CPU, it rearranges ("repacks") the weights of some types into
interleaved blocks that the CPU's widest integer instructions read in one go (the ``CPU_REPACK``
buffer in its log). On this x86 machine Q4_0, repacked, reads a prompt 2-3x faster than the
shipped Q4_1, read as stored (docs/benchmarks.md). The rules are
facts about llama.cpp, not choices of ours:

Source: ``ggml/src/ggml-cpu/repack.cpp``, ``ggml_repack_get_optimal_repack_type``, in the
llama.cpp that llama-cpp-python 0.3.36 vendors (the first rule that matches wins; a tensor is
repacked only when its row count is a multiple of the interleave, 4 or 8). Checked on this
x86_64 machine by ``tests/quantize/test_repacking.py`` (llama.cpp's own log); the Arm rows are
read from the source, not run on an Arm CPU.

CPU features are named as ``/proc/cpuinfo`` names them (``avx2``, ``avx512f``; on Arm ``asimd``
is NEON, ``asimddp`` the dot-product instructions of the Pi 5's Cortex-A76 and the Jetson Orin's
A78AE, ``i8mm`` the int8 matrix multiply of newer cores). A Pi 4's Cortex-A72 has neither
``asimddp`` nor ``i8mm``: llama.cpp repacks nothing there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The block type each GGUF file type mostly stores. A k-quant "_m" mix keeps some tensors one
# step higher (Q6_K for q4_k_m and q5_k_m), which llama.cpp repacks by its own row below.
MAIN_TYPE: dict[str, str] = {
    "q4_0": "Q4_0",
    "iq4_nl": "IQ4_NL",
    "q4_1": "Q4_1",
    "q4_k_m": "Q4_K",
    "q5_k_m": "Q5_K",
    "q6_k": "Q6_K",
    "q8_0": "Q8_0",
    "f16": "F16",
    "bf16": "BF16",
    "f32": "F32",
}

# The higher type a k-quant mix keeps some tensors in (attn_v, half of ffn_down, the output).
MIX_TYPE: dict[str, str] = {"q4_k_m": "Q6_K", "q5_k_m": "Q6_K"}

# Block type -> the (CPU features, interleaved layout) rules, in llama.cpp's order.
_RULES: dict[str, tuple[tuple[frozenset[str], str], ...]] = {
    "Q4_0": (
        (frozenset({"avx2"}), "8x8"),
        (frozenset({"asimd", "i8mm"}), "4x8"),
        (frozenset({"asimd", "asimddp"}), "4x4"),
    ),
    "Q4_K": (
        (frozenset({"avx2"}), "8x8"),
        (frozenset({"asimd", "i8mm"}), "8x8"),
        (frozenset({"asimd", "asimddp"}), "8x4"),
    ),
    "Q5_K": (
        (frozenset({"asimd", "i8mm"}), "8x8"),
        (frozenset({"asimd", "asimddp"}), "8x4"),
    ),
    "Q6_K": (
        (frozenset({"asimd", "i8mm"}), "8x8"),
        (frozenset({"asimd", "asimddp"}), "8x4"),
    ),
    "Q2_K": ((frozenset({"avx512f"}), "8x8"),),
    "IQ4_NL": (
        (frozenset({"avx2"}), "8x8"),
        (frozenset({"asimd", "asimddp"}), "4x4"),
    ),
    "Q8_0": (
        (frozenset({"asimd", "i8mm"}), "4x8"),
        (frozenset({"asimd", "asimddp"}), "4x4"),
    ),
}


@dataclass(frozen=True)
class Repacking:
    """How llama.cpp lays out one GGUF type on one CPU."""

    gguf_type: str
    block_type: str
    layout: str  # "8x8", "4x4"...; "" when not repacked
    features: frozenset[str]  # the CPU features the layout needs; empty when not repacked

    @property
    def repacked(self) -> bool:
        return bool(self.layout)


def block_layout(block_type: str, cpu_features: Iterable[str]) -> tuple[str, frozenset[str]]:
    """llama.cpp's layout for tensors of ``block_type`` (``"Q6_K"``...) on this CPU and the
    features it needs; ``("", frozenset())`` when they are read as stored."""
    have = frozenset(cpu_features)
    for needed, layout in _RULES.get(block_type, ()):
        if needed <= have:
            return layout, needed
    return "", frozenset()


def repacking(gguf_type: str, cpu_features: Iterable[str]) -> Repacking:
    """What llama.cpp does with ``gguf_type`` (e.g. ``"q4_0"``) on a CPU with these features."""
    block = MAIN_TYPE.get(gguf_type, gguf_type.upper())
    layout, needed = block_layout(block, cpu_features)
    return Repacking(gguf_type, block, layout, needed)


def block_repacked(block_type: str, cpu_features: Iterable[str]) -> bool:
    """Whether llama.cpp repacks tensors of ``block_type`` on this CPU."""
    return bool(block_layout(block_type, cpu_features)[0])
