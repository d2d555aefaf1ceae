"""ONNX: fp32 export with KV cache matches PyTorch; int8 and int4 are block-wise weights
(MatMulNBits) whose output layer is its own 8-bit weight and whose embedding is fp16; int8 of the
real SmolLM2 keeps its quality (KLD <= 0.01 on quantize/data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.quantize.helpers import PROMPT, torch_ids, torch_logits
from tests.quantize.tiny_models import make_model

INT8_MAX_KLD = 0.01  # issue 17: ONNX int8 of SmolLM2 against its source


@pytest.fixture(scope="module")
def fp32_export(tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from quantize.onnx_export import export_fp32

    return export_fp32(tiny_models["qwen2"], tmp_path_factory.mktemp("onnx") / "qwen2-onnx-fp32")


@pytest.fixture(scope="module")
def tied_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """f32, tied output layer (as SmolLM2): the export reads it through a Transpose."""
    return make_model(tmp_path_factory.mktemp("tied") / "llama-tied", "llama", tied=True)


@pytest.fixture(scope="module")
def tied_export(tied_llama: Path) -> Path:
    from quantize.onnx_export import export_fp32

    return export_fp32(tied_llama, tied_llama.with_name("llama-tied-onnx-fp32"))


@pytest.fixture(scope="module")
def tied_int8(tied_llama: Path, tied_export: Path) -> Path:
    from quantize.onnx_export import quantize_onnx

    return quantize_onnx(tied_export, tied_llama.with_name("llama-tied-onnx-int8"), "int8")


def _graph(folder: Path) -> Any:
    import onnx

    return onnx.load(str(folder / "model.onnx")).graph


def _bits(graph: Any) -> dict[str, int]:
    return {
        node.name: next(a.i for a in node.attribute if a.name == "bits")
        for node in graph.node
        if node.op_type == "MatMulNBits"
    }


def _attribute(graph: Any, op: str, name: str) -> set[int]:
    return {a.i for n in graph.node if n.op_type == op for a in n.attribute if a.name == name}


def _constant_matmuls(graph: Any) -> list[str]:
    """MatMul nodes still reading a weight: an initializer, or a Transpose of one."""
    weights = {t.name for t in graph.initializer}
    transposed = {
        n.output[0] for n in graph.node if n.op_type == "Transpose" and n.input[0] in weights
    }
    return [
        n.name
        for n in graph.node
        if n.op_type == "MatMul" and (n.input[1] in weights or n.input[1] in transposed)
    ]


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
    from quantize.evaluation import onnx_logits
    from quantize.onnx_export import quantize_onnx

    folder = quantize_onnx(fp32_export, fp32_export.with_name(f"qwen2-onnx-{variant}"), variant)
    graph = _graph(folder)
    bits = _bits(graph)
    assert not _constant_matmuls(graph)  # every weight, the output layer included, is quantized
    head = [name for name in bits if "lm_head" in name]
    assert len(head) == 1 and bits[head[0]] == 8  # the output layer is 8-bit in both variants
    others = {b for name, b in bits.items() if name not in head}
    assert others == ({8} if variant == "int8" else {4})
    assert _attribute(graph, "MatMulNBits", "block_size") == {32}
    assert _attribute(graph, "MatMulNBits", "accuracy_level") == {4}
    assert "DynamicQuantizeLinear" not in {n.op_type for n in graph.node}
    run, speed = onnx_logits(folder)
    ids = torch_ids(tiny_models["qwen2"], PROMPT)
    expected = torch_logits(tiny_models["qwen2"], ids)
    got = run(ids)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 0.5 * np.abs(expected).max()
    assert speed() > 0
    assert (folder / "tokenizer.json").is_file()


def test_int4_block_size_is_a_choice(fp32_export: Path) -> None:
    from quantize.onnx_export import quantize_onnx

    folder = quantize_onnx(
        fp32_export, fp32_export.with_name("qwen2-onnx-int4-b128"), "int4", block_size=128
    )
    graph = _graph(folder)
    head = next(n for n in graph.node if "lm_head" in n.name and n.op_type == "MatMulNBits")
    blocks = {
        a.i
        for n in graph.node
        if n.op_type == "MatMulNBits" and n is not head
        for a in n.attribute
        if a.name == "block_size"
    }
    assert blocks == {128}  # hidden 64 < 128: the quantizer pads the one block


def test_tied_output_layer_gets_its_own_8bit_weight_and_fp16_embedding(
    tied_llama: Path, tied_export: Path, tied_int8: Path
) -> None:
    from onnx import TensorProto

    from quantize import evaluation

    fp32_graph = _graph(tied_export)
    # As exported, the output layer reads the embedding through a Transpose.
    assert _constant_matmuls(fp32_graph)
    assert not any(n.op_type == "MatMulNBits" for n in fp32_graph.node)
    folder = tied_int8
    graph = _graph(folder)
    assert not _constant_matmuls(graph)
    assert set(_bits(graph).values()) == {8}
    gather = next(n for n in graph.node if n.op_type == "Gather" and n.input[1] == "input_ids")
    table = next(t for t in graph.initializer if t.name == gather.input[0])
    assert table.data_type == TensorProto.FLOAT16
    cast = next(n for n in graph.node if n.op_type == "Cast" and n.input[0] == gather.output[0])
    assert any(a.name == "to" and a.i == TensorProto.FLOAT for a in cast.attribute)

    ids = evaluation.text_ids(tied_llama, 256)
    run, _speed = evaluation.onnx_logits(folder)
    quality = evaluation.compare(evaluation.torch_logits(tied_llama), run, ids)
    assert quality.kld < INT8_MAX_KLD
    size = sum(p.stat().st_size for p in folder.glob("model.onnx*"))
    assert size < 0.6 * sum(p.stat().st_size for p in tied_export.glob("model.onnx*"))


def test_manifest_gate_recommends_int8(tied_llama: Path, tied_int8: Path) -> None:
    """convert's evaluation marks the int8 recommended under the gate int8 is held to."""
    from quantize.build import evaluate_artifacts
    from quantize.bundle import BuiltArtifact

    item = BuiltArtifact("llama-tied-onnx-int8", "onnx", "int8", tied_int8)
    said: list[str] = []
    evaluate_artifacts(tied_llama, [item], INT8_MAX_KLD, 256, said.append)
    assert item.metrics["recommended"] == 1.0
    assert item.metrics["kld"] <= INT8_MAX_KLD
    assert "eval   llama-tied-onnx-int8" in said[0]


def test_size_estimates_follow_the_variants() -> None:
    from quantize.formats import estimated_bytes, onnx_bytes

    # SmolLM2-135M: 134.5M parameters, a tied 49152 x 576 embedding. Written: fp32 538.9 MB,
    # int8 (8-bit blocks, 8-bit output layer, fp16 embedding) 209 MB (issue 17's measurement).
    parameters, embedding = 134_515_008, 49152 * 576
    assert onnx_bytes(parameters, "fp32", embedding, tied=True) == pytest.approx(538.9e6, rel=0.02)
    assert onnx_bytes(parameters, "int8", embedding, tied=True) == pytest.approx(209e6, rel=0.05)
    assert onnx_bytes(parameters, "int4", embedding, tied=True) < onnx_bytes(
        parameters, "int8", embedding, tied=True
    )
    # An untied output layer is counted once, at 8 bits, in the quantized variants.
    untied = onnx_bytes(parameters + embedding, "int4", embedding, tied=False)
    assert untied == onnx_bytes(parameters, "int4", embedding, tied=True)
    # A quantized variant needs the fp32 export it is made from.
    assert estimated_bytes(parameters, [], ["int8"], embedding) == onnx_bytes(
        parameters, "int8", embedding
    ) + onnx_bytes(parameters, "fp32", embedding)


@pytest.mark.slow
def test_smollm2_int8_keeps_its_quality(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Issue 17's gate: ONNX int8 of the real SmolLM2 has KLD <= 0.01 against its source."""
    from quantize import evaluation
    from quantize.formats import onnx_bytes
    from quantize.onnx_export import export_fp32, quantize_onnx
    from tests.inference.model_cache import install_default_once, shared_models_root
    from tests.quantize.roundtrip import hf_folder_from_gguf

    hf = hf_folder_from_gguf(
        install_default_once().entry_point,
        shared_models_root() / "smollm2-135m-hf-from-gguf",
    )
    work = tmp_path_factory.mktemp("smollm2-onnx")
    fp32 = export_fp32(hf, work / "smollm2-onnx-fp32")
    int8 = quantize_onnx(fp32, work / "smollm2-onnx-int8", "int8")
    ids = evaluation.text_ids(hf, 1024)
    run, _speed = evaluation.onnx_logits(int8)
    quality = evaluation.compare(evaluation.torch_logits(hf), run, ids)
    assert len(ids) >= 1000
    assert quality.kld <= INT8_MAX_KLD, quality
    assert quality.same_top >= 0.9, quality
    size = sum(p.stat().st_size for p in int8.glob("model.onnx*"))
    assert onnx_bytes(134_515_008, "int8", 49152 * 576) == pytest.approx(size, rel=0.05)
