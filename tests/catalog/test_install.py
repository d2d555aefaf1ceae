"""Installing through the catalog: .part files, sha256 before rename, bundles, removal."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from edgemed.bundle import keys
from edgemed.catalog import (
    Artifact,
    ArtifactFile,
    InstalledModel,
    InstallError,
    ModelFileError,
    import_bundle,
    install,
    installed_models,
    parse_catalog,
    read_manifest,
    vouch_for,
    write_manifest,
)
from edgemed.cli import main
from tests.inference.model_cache import use_shared_models


def _local_catalog(tmp_path: Path, source_file: Path, sha256: str, size: int) -> Path:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        f"""
schema = 1
default = "local-model"
[[models]]
id = "local-model"
family = "llama"
format = "gguf"
file = "local.gguf"
sha256 = "{sha256}"
size = {size}
tier = "small"
[models.source]
kind = "path"
path = "{source_file}"
"""
    )
    return catalog


def test_catalog_file_lists_the_three_tiers() -> None:
    from edgemed.catalog import load_catalog

    catalog = load_catalog()
    assert catalog.find("default").artifact.files[0].sha256.startswith("b179c952")
    assert {e.tier for e in catalog.entries} == {"small", "medium", "large"}
    assert all(
        len(e.artifact.files[0].sha256) == 64 and e.artifact.size > 0 for e in catalog.entries
    )


def test_mismatch_deletes_the_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "source.gguf"
    source.write_bytes(b"GGUF" + b"\x00" * 4096)
    catalog_path = _local_catalog(tmp_path, source, "0" * 64, 4100)
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    catalog = parse_catalog(catalog_path.read_text(), catalog_path)
    with pytest.raises(InstallError, match="partial file was deleted") as caught:
        install("local-model", catalog=catalog)
    assert "0" * 64 in caught.value.message
    folder = tmp_path / "models" / "local-model"
    assert not list(folder.glob("*")), "nothing may be left behind, .part included"
    assert installed_models() == []


def test_install_from_a_local_file(
    default_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = default_model.artifact.files[0]
    catalog_path = _local_catalog(
        tmp_path, default_model.entry_point, expected.sha256, expected.size
    )
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    model = install("default", catalog=parse_catalog(catalog_path.read_text(), catalog_path))
    assert model.entry_point == tmp_path / "models" / "local-model" / "local.gguf"
    assert [m.artifact.id for m in installed_models()] == ["local-model"]
    assert read_manifest(model.directory)[0].files[0].sha256 == expected.sha256


def test_default_install_came_through_the_catalog(default_model: InstalledModel) -> None:
    assert default_model.artifact.id == "smollm2-135m-instruct-q4_1"
    assert not list(default_model.directory.glob("*.part"))
    assert read_manifest(default_model.directory) == [default_model.artifact]


def _bundle(tmp_path: Path, default_model: InstalledModel) -> Path:
    bundle = tmp_path / "usb"
    (bundle / "gguf").mkdir(parents=True)
    shutil.copy(default_model.entry_point, bundle / "gguf" / "smol.gguf")
    artifact = Artifact(
        id="smol-from-usb",
        family="smollm2",
        format="gguf",
        files=(
            ArtifactFile(
                "gguf/smol.gguf",
                default_model.artifact.files[0].sha256,
                default_model.artifact.files[0].size,
            ),
        ),
        quant="Q4_1",
        chat_template="chatml",
    )
    write_manifest(bundle, [artifact], created_by="test")
    return bundle


def test_import_bundle(
    default_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    bundle = _bundle(tmp_path, default_model)
    deployer = keys.generate(tmp_path / "deployer")
    deployer.sign_file(bundle / "manifest.json")  # not in the catalog: the deployer vouches
    imported = import_bundle(bundle, key=deployer.public)
    assert [m.artifact.id for m in imported] == ["smol-from-usb"]
    assert imported[0].authority == f"signed by {deployer.id}"
    vouched = vouch_for("smol-from-usb")
    assert vouched.path == tmp_path / "models" / "smol-from-usb" / "gguf" / "smol.gguf"


def test_tampered_bundle_installs_nothing(
    default_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    bundle = _bundle(tmp_path, default_model)
    with (bundle / "gguf" / "smol.gguf").open("r+b") as stream:
        stream.seek(1_000_000)
        stream.write(b"\x00\x01\x02\x03")
    with pytest.raises(InstallError, match="do not match"):
        import_bundle(bundle, allow_unverified=True)
    assert installed_models() == []
    assert not list((tmp_path / "models").rglob("*.gguf*"))


def test_vouch_for_a_bare_path_checks_its_manifest(
    default_model: InstalledModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_shared_models(monkeypatch)
    assert vouch_for(default_model.entry_point).artifact == default_model.artifact
    with pytest.raises(ModelFileError, match="does not exist"):
        vouch_for(default_model.directory / "nothing.gguf")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``edgemed ARGS`` in-process, errors rendered the way a user sees them."""
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_cli_round_trip(
    default_model: InstalledModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_shared_models(monkeypatch)
    code, output = run_cli(["models", "list"], capsys)
    assert code == 0 and "smollm2-135m-instruct-q4_1 (default)  [installed]" in output
    # Installing what is installed and intact is quick and says where it is.
    code, output = run_cli(["models", "install", "default"], capsys)
    assert code == 0 and str(default_model.entry_point) in output
    code, output = run_cli(["models", "path", "default"], capsys)
    assert output.strip() == str(default_model.entry_point)

    # A private models dir for verify/import/remove, so the shared cache is never damaged.
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    stick = _bundle(tmp_path, default_model)
    code, output = run_cli(["models", "import", str(stick)], capsys)
    assert code == 1 and "Unverified source: smol-from-usb" in output, output
    assert not (tmp_path / "models" / "smol-from-usb").exists()
    code, output = run_cli(["models", "import", str(stick), "--allow-unverified"], capsys)
    assert code == 0, output
    assert "UNVERIFIED SOURCE" in output
    code, output = run_cli(["models", "verify"], capsys)
    assert code == 0 and "smol-from-usb: intact" in output
    target = tmp_path / "models" / "smol-from-usb" / "gguf" / "smol.gguf"
    with target.open("r+b") as stream:
        stream.seek(2_000_000)
        stream.write(hashlib.sha256(b"x").digest())
    code, output = run_cli(["models", "verify", "smol-from-usb"], capsys)
    assert code == 1 and "tampered" in output and "Traceback" not in output
    code, output = run_cli(["models", "remove", "smol-from-usb"], capsys)
    assert code == 0 and not target.exists()
    code, output = run_cli(["models", "install", "no-such-model"], capsys)
    assert code == 2 and "No model 'no-such-model' in the catalog" in output
    code, output = run_cli(["models", "path", "smol-from-usb"], capsys)
    assert code == 2 and "not installed" in output
