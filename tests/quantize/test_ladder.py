"""The quantization ladder: every type is made by llama.cpp, loads and generates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.quantize.helpers import PROMPT, gguf_logits, llama, torch_ids

LADDER = ["f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m"]
# The ggml type most of a hidden-256 model's matrices must carry for each quant.
# Relative logit error against the f32 GGUF, about twice what was measured (f16 0.002, q8_0 0.06,
# q6_k 0.19, q5_k_m 0.30, q4_k_m 0.55). Random weights with a wide init are the worst case for
# quantization (no redundancy, chaotic attention); an unrelated model scores about 1.4.
MAX_RELATIVE_ERROR = {"f16": 0.005, "q8_0": 0.12, "q6_k": 0.35, "q5_k_m": 0.6, "q4_k_m": 1.0}
EXPECTED_TYPE = {"q8_0": "Q8_0", "q6_k": "Q6_K", "q5_k_m": "Q5_K", "q4_k_m": "Q4_K", "f16": "F16"}


@pytest.fixture(scope="module")
def wide_base(wide_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from quantize.gguf_export import write_gguf

    out = tmp_path_factory.mktemp("ladder") / "wide-f32.gguf"
    write_gguf(wide_llama, out, "f32")
    return out


@pytest.mark.parametrize("quant", LADDER)
def test_quant_loads_generates_and_stays_close(
    quant: str, wide_base: Path, wide_llama: Path
) -> None:
    import gguf

    from quantize.ladder import quantize_gguf

    out = quantize_gguf(wide_base, wide_base.with_name(f"wide-{quant}.gguf"), quant)
    assert out.is_file() and not out.with_name(out.name + ".part").exists()
    types = [t.tensor_type.name for t in gguf.GGUFReader(out).tensors if len(t.shape) > 1]
    assert types.count(EXPECTED_TYPE[quant]) >= len(types) // 2, types
    completion = llama(out, f32_cache=False)(PROMPT, max_tokens=8, temperature=0.0)
    assert completion["usage"]["completion_tokens"] > 0
    ids = torch_ids(wide_llama, PROMPT)
    reference, quantized = gguf_logits(wide_base, ids), gguf_logits(out, ids)
    error = float(np.linalg.norm(quantized - reference) / np.linalg.norm(reference))
    assert error < MAX_RELATIVE_ERROR[quant], error
    assert out.stat().st_size < wide_base.stat().st_size


def test_error_grows_as_bits_shrink(wide_base: Path, wide_llama: Path) -> None:
    from quantize.ladder import quantize_gguf

    ids = torch_ids(wide_llama, PROMPT)
    reference = gguf_logits(wide_base, ids)
    errors = []
    for quant in LADDER:  # f16, q8_0, q6_k, q5_k_m, q4_k_m: fewer bits each step
        out = quantize_gguf(wide_base, wide_base.with_name(f"order-{quant}.gguf"), quant)
        got = gguf_logits(out, ids)
        errors.append(float(np.linalg.norm(got - reference) / np.linalg.norm(reference)))
    assert errors == sorted(errors), dict(zip(LADDER, errors, strict=True))
