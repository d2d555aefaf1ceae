"""``convert`` end to end: recipe, ladder, ONNX, evaluation, a catalog-readable manifest, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from quantize.cli import cli


@pytest.fixture(scope="module")
def built(wide_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("build") / "bundle"
    args = [
        "convert",
        str(wide_llama),
        "--out",
        str(out),
        "--recipe",
        "pi5",
        "--eval-tokens",
        "200",
    ]
    outcome = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    return out, outcome.output


def test_recipe_chooses_the_artifacts(built: tuple[Path, str]) -> None:
    from edgemed.catalog.manifest import read_manifest

    out, output = built
    assert "recipe pi5" in output
    artifacts = {a.id: a for a in read_manifest(out)}
    assert set(artifacts) == {
        "wide-llama-q4_k_m",
        "wide-llama-q4_0",
        "wide-llama-q5_k_m",
        "wide-llama-q8_0",
        "wide-llama-onnx-int8",
    }
    assert artifacts["wide-llama-onnx-int8"].format == "onnx"
    assert all(a.context == 512 for a in artifacts.values())  # min(recipe 4096, model 512)
    assert all(a.ram_mb > 0 and "<|im_start|>" in a.chat_template for a in artifacts.values())
    assert not list(out.rglob("*.part"))


def test_manifest_checksums_metrics_and_provenance(built: tuple[Path, str]) -> None:
    from edgemed.catalog.checks import sha256_of
    from edgemed.catalog.manifest import read_manifest

    out, output = built
    for artifact in read_manifest(out):
        for file in artifact.files:
            assert sha256_of(out / file.path) == file.sha256
        metrics = artifact.metrics
        assert metrics["kld"] >= 0 and 0 < metrics["same_top"] <= 1 and metrics["perplexity"] > 1
        assert metrics["recommended"] == (1.0 if metrics["kld"] <= 0.1 else 0.0)
        assert metrics["tokens_per_s"] > 0
    document = json.loads((out / "manifest.json").read_text())
    assert document["build"]["tools"]["gguf"] == "0.19.0"
    assert {f["path"] for f in document["build"]["source_files"]} >= {
        "config.json",
        "model.safetensors",
    }
    assert "eval   wide-llama-q8_0" in output


def test_catalog_imports_the_bundle(built: tuple[Path, str]) -> None:
    from edgemed.catalog import import_bundle

    # The builder's own fresh output: not in the catalog and not signed yet.
    imported = import_bundle(built[0], allow_unverified=True)
    assert {m.artifact.id for m in imported} >= {"wide-llama-q4_k_m", "wide-llama-onnx-int8"}


def test_rerun_resumes_and_rebuilds_only_what_is_missing(
    built: tuple[Path, str], wide_llama: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    shutil.copytree(built[0], out)
    (out / "wide-llama-q5_k_m.gguf").unlink()
    (out / "wide-llama-q8_0.gguf.part").write_bytes(b"half a file")  # an interrupted quant
    (out / "wide-llama-q8_0.gguf").unlink()
    args = ["convert", str(wide_llama), "--out", str(out), "--recipe", "pi5", "--no-evaluate"]
    outcome = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    assert "kept   wide-llama-q4_k_m.gguf" in outcome.output
    assert "quant  wide-llama-q5_k_m.gguf" in outcome.output
    assert "quant  wide-llama-q8_0.gguf" in outcome.output
    assert "kept   wide-llama-onnx-int8" in outcome.output
    assert not list(out.rglob("*.part"))


def test_changed_source_is_refused(
    built: tuple[Path, str], tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    from quantize.cli import main

    out = tmp_path / "bundle"
    shutil.copytree(built[0], out)
    with pytest.raises(SystemExit) as stop:
        main(["convert", str(tiny_models["llama"]), "--out", str(out), "--gguf", "q8_0"])
    assert stop.value.code == 2


def test_unknown_recipe_lists_the_recipes(wide_llama: Path, tmp_path: Path) -> None:
    from quantize.errors import InputErrorWithChoices

    outcome = CliRunner().invoke(
        cli, ["convert", str(wide_llama), "--out", str(tmp_path), "--recipe", "pi3"]
    )
    assert isinstance(outcome.exception, InputErrorWithChoices)
    assert "jetson-orin-nano" in (outcome.exception.hint or "")
