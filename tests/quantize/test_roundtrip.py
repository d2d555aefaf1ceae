"""The real-model round trip: catalog SmolLM2 GGUF -> HF folder -> our GGUF -> same answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.quantize.roundtrip import PROMPTS, greedy_texts, hf_folder_from_gguf

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def original_gguf() -> Path:
    from tests.inference.model_cache import install_default_once

    installed = install_default_once()
    return installed.entry_point


def test_smollm2_round_trip_is_exact(
    original_gguf: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import gguf

    from quantize.gguf_export import write_gguf
    from quantize.ladder import quantize_gguf

    work = tmp_path_factory.mktemp("smollm2")
    from tests.inference.model_cache import shared_models_root

    # The HF folder is kept with the shared test models: making it takes most of this test.
    hf = hf_folder_from_gguf(original_gguf, shared_models_root() / "smollm2-135m-hf-from-gguf")
    ours_f32 = write_gguf(hf, work / "ours-f32.gguf", "f32") and work / "ours-f32.gguf"
    ours = quantize_gguf(ours_f32, work / "ours-q4_1.gguf", "q4_1")
    original = {t.name: t for t in gguf.GGUFReader(original_gguf).tensors}
    rebuilt = {t.name: t for t in gguf.GGUFReader(ours).tensors}
    assert set(original) == set(rebuilt)
    # Q4_1 blocks re-quantized from their own dequantized values come back bit for bit.
    for name, tensor in original.items():
        assert tensor.tensor_type == rebuilt[name].tensor_type, name
        assert np.array_equal(tensor.data, rebuilt[name].data), name
    meta = gguf.GGUFReader(ours).fields
    assert bytes(meta["tokenizer.ggml.pre"].parts[-1]).decode() == "smollm"
    assert greedy_texts(ours) == greedy_texts(original_gguf)
    assert len(PROMPTS) >= 5
