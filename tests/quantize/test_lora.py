"""LoRA: merged and converted, it gives the merged PyTorch logits; a foreign adapter is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quantize.errors import UnsupportedModel
from tests.quantize.helpers import PROMPT, gguf_logits, torch_ids, torch_logits


@pytest.fixture(scope="module")
def adapter(tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_models["llama"], dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])
    model = get_peft_model(base, config)
    torch.manual_seed(1)
    with torch.no_grad():  # peft starts B at zero (a no-op adapter); make it a real change
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, 0.2)
    folder = tmp_path_factory.mktemp("adapter") / "triage-lora"
    model.save_pretrained(folder)
    return folder


def test_merged_adapter_matches_merged_pytorch(
    adapter: Path, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    from quantize.gguf_export import write_gguf
    from quantize.lora import merge_adapter

    merged = merge_adapter(tiny_models["llama"], adapter, tmp_path / "merged")
    ids = torch_ids(merged, PROMPT)
    merged_logits = torch_logits(merged, ids)
    base_logits = torch_logits(tiny_models["llama"], ids)
    assert np.abs(merged_logits - base_logits).max() > 0.1  # the adapter really changes the model
    write_gguf(merged, tmp_path / "merged.gguf", "f32")
    assert np.abs(gguf_logits(tmp_path / "merged.gguf", ids) - merged_logits).max() < 1e-4


def test_adapter_for_another_base_is_refused(adapter: Path, wide_llama: Path) -> None:
    from quantize.lora import check_adapter
    from quantize.source import open_source

    with pytest.raises(UnsupportedModel) as refused:
        check_adapter(open_source(wide_llama), adapter)
    assert "another base model" in refused.value.message
    assert "q_proj" in refused.value.message
    assert refused.value.hint and "SOURCE" in refused.value.hint


def test_adapter_check_accepts_its_base(adapter: Path, tiny_models: dict[str, Path]) -> None:
    from quantize.lora import check_adapter
    from quantize.source import open_source

    result = check_adapter(open_source(tiny_models["llama"]), adapter)
    assert result.rank == 4 and result.adapted == 2 * 3


def test_convert_refuses_a_foreign_adapter_before_any_work(
    adapter: Path, wide_llama: Path, tmp_path: Path
) -> None:
    from quantize.cli import main

    out = tmp_path / "bundle"
    with pytest.raises(SystemExit) as stop:
        main(["convert", str(wide_llama), "--adapter", str(adapter), "--out", str(out)])
    assert stop.value.code == 2
    assert not out.exists()
