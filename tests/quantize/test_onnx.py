"""ONNX: fp32 export with KV cache matches PyTorch; int8 and int4 run and generate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.quantize.helpers import PROMPT, torch_ids, torch_logits


@pytest.fixture(scope="module")
def fp32_export(tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from quantize.onnx_export import export_fp32

    return export_fp32(tiny_models["qwen2"], tmp_path_factory.mktemp("onnx") / "qwen2-onnx-fp32")


def test_fp32_logits_match_pytorch(fp32_export: Path, tiny_models: dict[str, Path]) -> None:
    import onnx

    from quantize.evaluation import onnx_logits

    inputs = {
        i.name
        for i in onnx.load(str(fp32_export / "model.onnx"), load_external_data=False).graph.input
    }
    assert any(name.startswith("past_key_values") for name in inputs)  # the KV cache is there
    ids = torch_ids(tiny_models["qwen2"], PROMPT)
    run, _speed = onnx_logits(fp32_export)
    expected = torch_logits(tiny_models["qwen2"], ids)
    assert np.abs(run(ids) - expected).max() < 1e-4


@pytest.mark.parametrize("variant", ["int8", "int4"])
def test_quantized_variants_run(
    variant: str, fp32_export: Path, tiny_models: dict[str, Path]
) -> None:
    import onnx

    from quantize.evaluation import onnx_logits
    from quantize.onnx_export import quantize_onnx

    folder = quantize_onnx(fp32_export, fp32_export.with_name(f"qwen2-onnx-{variant}"), variant)
    ops = {node.op_type for node in onnx.load(str(folder / "model.onnx")).graph.node}
    assert ("MatMulNBits" if variant == "int4" else "DynamicQuantizeLinear") in ops
    run, speed = onnx_logits(folder)
    ids = torch_ids(tiny_models["qwen2"], PROMPT)
    expected = torch_logits(tiny_models["qwen2"], ids)
    got = run(ids)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 0.5 * np.abs(expected).max()
    assert speed() > 0
    assert (folder / "tokenizer.json").is_file()
