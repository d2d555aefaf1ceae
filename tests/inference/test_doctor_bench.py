"""``edgemed doctor --bench`` on the real default model: made, gated, measured, recorded, used.

The model is copied into a models folder of the test's own (the derived file and its record must
not leak into the shared cache other tests load from). Kept fast: Q8_0 only (quantized in ~1 s),
a short decode, one repeat.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgemed.catalog import InstalledModel, load_catalog, vouch_for, write_manifest
from edgemed.catalog.derived import RECORD_NAME, read_choice
from edgemed.cli import cli
from edgemed.errors import InputError
from edgemed.inference import ChatMessage, EngineSettings, open_engine
from edgemed.inference import formats as formats_module
from edgemed.inference.formats import choose_format

SETTINGS = EngineSettings(threads=2, context=1024)


@pytest.fixture
def own_models(
    default_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> InstalledModel:
    root = tmp_path / "models"
    folder = root / default_model.artifact.id
    folder.mkdir(parents=True)
    shutil.copy(default_model.entry_point, folder / default_model.artifact.files[0].path)
    write_manifest(folder, [default_model.artifact], created_by="test")
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(root))
    monkeypatch.setenv("EDGEMED_HOME", str(tmp_path / "data"))
    return InstalledModel(default_model.artifact, folder)


def _quick(model_id: str, candidates: tuple[str, ...] = ("Q8_0",)) -> formats_module.FormatChoice:
    return choose_format(model_id, SETTINGS, candidates=candidates, decode_tokens=8, repeats=1)


def test_the_fastest_passing_format_is_recorded_and_loaded(own_models: InstalledModel) -> None:
    model_id = own_models.artifact.id
    choice = _quick(model_id)
    shipped, q8 = choice.measured
    assert shipped.quant == "shipped" and q8.quant == "Q8_0"
    assert choice.threshold is not None and 0 <= q8.kld <= choice.threshold and q8.passed
    assert all(m.prefill_tps > 0 and m.decode_tps > 0 for m in choice.measured)
    assert choice.chosen is min(choice.measured, key=lambda m: m.workload_s)
    if choice.chosen is shipped:  # a machine where the shipped file is fastest
        assert not (own_models.directory / RECORD_NAME).exists()
        return
    recorded = read_choice(own_models.directory, own_models.artifact)
    assert recorded is not None and recorded.quant == "Q8_0"
    assert recorded.source_sha256 == own_models.artifact.files[0].sha256
    vouched = vouch_for(model_id)
    assert vouched.path == own_models.directory / recorded.path
    assert vouched.artifact is not None and vouched.artifact.quant == "Q8_0"
    assert vouch_for(model_id, derived=False).path == own_models.entry_point
    shown = CliRunner().invoke(cli, ["models", "path", model_id])
    assert shown.exit_code == 0 and shown.stdout.strip() == str(vouched.path), shown.output
    engine = open_engine(model_id, SETTINGS)
    try:
        assert engine.info.path == vouched.path
        assert engine.complete([ChatMessage("user", "Say hello.")], max_tokens=4)
    finally:
        engine.close()
    # A tampered derived file, or a record written without this install's key: the shipped file.
    derived = own_models.directory / recorded.path
    with derived.open("ab") as handle:  # the derived file no longer matches its sha256
        handle.write(b"x")
    assert vouch_for(model_id).path == own_models.entry_point
    derived.write_bytes(derived.read_bytes()[:-1])
    assert vouch_for(model_id).path == derived
    record = own_models.directory / RECORD_NAME
    raw = json.loads(record.read_text())
    raw["quant"] = "Q4_0"  # an edit by anyone without this install's key
    record.write_text(json.dumps(raw))
    assert vouch_for(model_id).path == own_models.entry_point


def test_a_model_without_a_threshold_keeps_the_shipped_file(
    own_models: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_catalog().entries[0].id
    assert catalog == own_models.artifact.id
    source = Path(formats_module.catalog_file()).read_text(encoding="utf-8")
    edited = tmp_path / "catalog.toml"
    edited.write_text(source.replace("derived_kld_max = 0.05\n", ""), encoding="utf-8")
    monkeypatch.setenv("EDGEMED_CATALOG", str(edited))
    choice = _quick(own_models.artifact.id)
    assert choice.threshold is None
    assert choice.chosen is not None and choice.chosen.quant == "shipped"
    assert not choice.measured[1].passed and "threshold" in choice.measured[1].note
    assert not (own_models.directory / RECORD_NAME).exists()
    assert vouch_for(own_models.artifact.id).path == own_models.entry_point


def test_doctor_bench_cli(own_models: InstalledModel, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_choose(model_id: str, settings: EngineSettings, **kwargs: object) -> object:
        calls.append(model_id)
        shipped = formats_module.Measured("shipped", own_models.entry_point, 1, 300.0, 40.0)
        q8 = formats_module.Measured("Q8_0", own_models.entry_point, 1, 700.0, 50.0, kld=0.01)
        return formats_module.FormatChoice(own_models.artifact.id, 0.05, [shipped, q8], q8)

    monkeypatch.setattr(formats_module, "choose_format", fake_choose)
    result = CliRunner().invoke(cli, ["doctor", "--bench", "--json"])
    assert result.exit_code == 0, result.output
    bench = json.loads(result.stdout)["bench"]
    assert len(calls) == 1 and bench["model"] == own_models.artifact.id
    assert {f["format"] for f in bench["formats"]} == {"shipped", "Q8_0"}
    assert bench["chosen"] in {"shipped", "Q8_0"}


def test_doctor_bench_refuses_facts_and_a_model_without_bench(tmp_path: Path) -> None:
    record = tmp_path / "r.json"
    record.write_text("{}")
    result = CliRunner().invoke(cli, ["doctor", "--bench", "--facts", str(record)])
    assert isinstance(result.exception, InputError) and "--facts" in result.exception.message
    result = CliRunner().invoke(cli, ["doctor", "--model", "x"])
    assert isinstance(result.exception, InputError) and "--bench" in result.exception.message
