"""``inspect``: a go / no-go in seconds, and refusals that say what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from quantize.cli import cli
from quantize.readiness import MachineResources, check

PLENTY = MachineResources(ram_available=16 * 1024**3, disk_free=100 * 1024**3)


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


def test_supported_model_is_go(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    result = check(tiny_models["qwen2"], ["f16", "q4_k_m"], ["int8"], tmp_path, PLENTY)
    assert result.go, result.problems
    assert result.family == "qwen2"
    assert result.tokenizer.pre == "qwen2"
    assert result.tokenizer.chat_template
    assert result.tokenizer.eos == "<|im_end|>"
    assert result.parameters > 100_000
    assert result.dtypes == {"F32": result.parameters}


def test_cli_report_says_go(tiny_models: dict[str, Path]) -> None:
    outcome = CliRunner().invoke(cli, ["inspect", str(tiny_models["llama-bf16-tied"])])
    assert outcome.exit_code == 0, outcome.output
    assert "llama-bpe" in outcome.output
    assert "BF16" in outcome.output
    assert outcome.output.strip().endswith("GO")


def test_unsupported_architecture_refused(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(tiny_models["llama"], tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["MambaForCausalLM"]
    (folder / "config.json").write_text(json.dumps(config))
    result = check(folder, ["f16"], [], tmp_path, PLENTY)
    assert not result.go
    assert any("MambaForCausalLM" in p and "Supported:" in p for p in result.problems)
    outcome = CliRunner().invoke(cli, ["inspect", str(folder)])
    assert outcome.exit_code == 3
    assert "NO-GO" in outcome.output and "LlamaForCausalLM" in outcome.output


def test_unknown_pretokenizer_refused(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(tiny_models["llama"], tmp_path)
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    tokenizer["pre_tokenizer"] = {"type": "Whitespace"}
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    result = check(folder, ["f16"], [], tmp_path, PLENTY)
    assert not result.go
    assert any(
        "Unknown pre-tokenizer (Whitespace)" in p and "refused" in p for p in result.problems
    )


def test_too_small_disk_refused(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    small = MachineResources(ram_available=16 * 1024**3, disk_free=10_000)
    result = check(tiny_models["llama"], ["f16", "q8_0"], ["fp32"], tmp_path, small)
    assert not result.go
    (problem,) = result.problems
    assert "Not enough disk" in problem and "--out" in problem
    assert result.disk_needed > 10_000


def test_pickle_weights_refused_with_a_fix(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(tiny_models["llama"], tmp_path)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    outcome = CliRunner().invoke(cli, ["inspect", str(folder)], standalone_mode=False)
    assert outcome.exception is not None
    assert "safe_serialization=True" in (outcome.exception.hint or "")  # type: ignore[attr-defined]


def test_unknown_quant_name_lists_the_choices(tiny_models: dict[str, Path]) -> None:
    from quantize.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["inspect", str(tiny_models["llama"]), "--gguf", "q3_xx"])
    assert stop.value.code == 2


def test_json_report_for_scripts(tiny_models: dict[str, Path]) -> None:
    outcome = CliRunner().invoke(cli, ["inspect", str(tiny_models["gemma3"]), "--json"])
    assert outcome.exit_code == 0, outcome.output
    report = json.loads(outcome.output)
    assert report["go"] is True and report["family"] == "gemma3"
    assert report["tokenizer"]["pre"] == "llama-bpe"
