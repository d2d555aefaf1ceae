"""Models: the catalog's word over a manifest's, signed imports, bounded copies, a cache that
cannot be poisoned, and what was verified is what is loaded (issue 13, row 8)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from edgemed.bundle import keys
from edgemed.catalog import (
    Artifact,
    ArtifactFile,
    InstalledModel,
    InstallError,
    check_artifact,
    import_bundle,
    install,
    parse_catalog,
    verify,
    vouch_for,
    write_manifest,
)
from edgemed.catalog.manifest import artifact_to_json
from edgemed.catalog.trust import UnverifiedSource
from edgemed.errors import EdgemedError
from tests.catalog.test_install import _local_catalog


def _stick(tmp_path: Path, model: InstalledModel, artifact: Artifact) -> Path:
    stick = tmp_path / "stick"
    stick.mkdir()
    shutil.copyfile(model.entry_point, stick / artifact.files[0].path)
    write_manifest(stick, [artifact], created_by="test")
    return stick


def _with(artifact: Artifact, **changes: object) -> Artifact:
    return Artifact(**{**artifact.__dict__, **changes})


def test_a_changed_chat_template_in_a_catalog_models_manifest_does_not_import(
    default_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    changed = _with(default_model.artifact, chat_template="{{ 'injected' }}")
    stick = _stick(tmp_path, default_model, changed)
    with pytest.raises(UnverifiedSource, match="differs from the model catalog in: chat_template"):
        import_bundle(stick)
    # Even signed, or with --allow-unverified: the catalog decides what its models are.
    deployer = keys.generate(tmp_path / "k")
    deployer.sign_file(stick / "manifest.json")
    with pytest.raises(UnverifiedSource, match="chat_template"):
        import_bundle(stick, key=deployer.public, allow_unverified=True)
    assert not (tmp_path / "models" / changed.id).exists()
    # The catalog's own manifest imports, and needs no signature.
    (stick / "manifest.json").unlink()
    write_manifest(stick, [default_model.artifact])
    (imported,) = import_bundle(stick)
    assert imported.authority == "catalog"


def test_a_changed_chat_template_in_the_installed_manifest_does_not_verify(
    default_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    (imported,) = import_bundle(_stick(tmp_path, default_model, default_model.artifact))
    manifest = imported.directory / "manifest.json"
    document = json.loads(manifest.read_text())
    document["artifacts"][0]["chat_template"] = "{% for m in messages %}{{ m.content }}{% endfor %}"
    manifest.write_text(json.dumps(document))
    with pytest.raises(UnverifiedSource, match="chat_template"):
        vouch_for(imported.artifact.id)
    (verdict,) = verify()
    assert not verdict.ok and "chat_template" in verdict.message
    # Installing it again through the catalog restores the catalog's manifest (the file is
    # intact, so nothing is downloaded).
    install(imported.artifact.id)
    assert json.loads(manifest.read_text())["artifacts"][0] == artifact_to_json(
        default_model.artifact
    )
    assert vouch_for(imported.artifact.id).artifact == default_model.artifact


def _file_facts(model: InstalledModel) -> tuple[str, int]:
    return model.artifact.files[0].sha256, model.artifact.files[0].size


def _foreign(model: InstalledModel) -> Artifact:
    return Artifact(
        id="smol-from-usb",
        family="smollm2",
        format="gguf",
        files=(ArtifactFile("smol.gguf", *_file_facts(model)),),
        chat_template="chatml",
    )


def test_an_unsigned_model_outside_the_catalog_is_an_unverified_source(
    default_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    stick = _stick(tmp_path, default_model, _foreign(default_model))
    deployer = keys.generate(tmp_path / "deployer")
    with pytest.raises(UnverifiedSource, match="Unverified source: smol-from-usb"):
        import_bundle(stick, key=deployer.public)
    # Signed by someone else, or changed after signing: the same.
    other = keys.generate(tmp_path / "other")
    other.sign_file(stick / "manifest.json")
    with pytest.raises(UnverifiedSource, match="does not carry a valid signature"):
        import_bundle(stick, key=deployer.public)
    deployer.sign_file(stick / "manifest.json")
    document = json.loads((stick / "manifest.json").read_text())
    document["artifacts"][0]["context"] = 999999
    (stick / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(UnverifiedSource, match="does not carry a valid signature"):
        import_bundle(stick, key=deployer.public)
    assert not (tmp_path / "models" / "smol-from-usb").exists()
    # The pinned key (EDGEMED_DEPLOYER_KEY) is found without a flag.
    write_manifest(stick, [_foreign(default_model)])
    deployer.sign_file(stick / "manifest.json")
    monkeypatch.setenv("EDGEMED_DEPLOYER_KEY", str(deployer.path.with_name(keys.PUBLIC_NAME)))
    (imported,) = import_bundle(stick)
    assert imported.authority == f"signed by {deployer.id}"


def test_a_file_larger_than_listed_is_refused_after_one_byte_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 3 GB file listed at 1 MB: not copied whole, stopped after 1 MB + 1 byte."""
    huge = tmp_path / "huge.gguf"
    with huge.open("wb") as stream:
        stream.truncate(3 * 1024**3)  # sparse: 3 GB that take no disk
    listed = 1024 * 1024
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    catalog_path = _local_catalog(tmp_path, huge, "0" * 64, listed)
    seen: list[int] = []
    with pytest.raises(InstallError, match="more bytes than the 1048576 listed") as caught:
        install(
            "local-model",
            catalog=parse_catalog(catalog_path.read_text(), catalog_path),
            progress=lambda event: seen.append(event.done),
        )
    assert max(seen) == listed + 1
    assert "Traceback" not in caught.value.message
    assert not list((tmp_path / "models").rglob("*.gguf*"))
    # From a stick, the listed size is compared before a single byte is copied.
    stick = tmp_path / "stick"
    stick.mkdir()
    os.link(huge, stick / "smol.gguf")
    artifact = Artifact(
        id="huge", family="llama", format="gguf", files=(ArtifactFile("smol.gguf", "0" * 64, 7),)
    )
    write_manifest(stick, [artifact])
    seen.clear()
    with pytest.raises(InstallError, match="more bytes than the 7 listed"):
        import_bundle(stick, allow_unverified=True, progress=lambda e: seen.append(e.done))
    assert seen == []


def _model_copy(tmp_path: Path, model: InstalledModel) -> Path:
    folder = tmp_path / "copy"
    folder.mkdir(parents=True)
    shutil.copyfile(model.entry_point, folder / model.artifact.files[0].path)
    return folder


def test_the_verified_models_cache_cannot_be_poisoned(
    default_model: InstalledModel, tmp_path: Path
) -> None:
    folder = _model_copy(tmp_path, default_model)
    path = folder / default_model.artifact.files[0].path
    with path.open("r+b") as stream:  # tampered, and never vouched for
        stream.seek(40_000_000)
        stream.write(b"\xde\xad\xbe\xef")
    info = path.stat()
    sha = default_model.artifact.files[0].sha256
    # An attacker writes the verdicts: in the old key format, and in the new one with a made-up
    # MAC (they do not have this install's secret).
    old_key = f"{path.resolve()}|{info.st_size}|{info.st_mtime_ns}|{info.st_ctime_ns}"
    new_key = (
        f"{path.resolve()}|{info.st_dev}|{info.st_ino}|{info.st_size}|"
        f"{info.st_mtime_ns}|{info.st_ctime_ns}"
    )
    cache = Path(os.environ["EDGEMED_CACHE"]) / "verified-models.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({old_key: sha, new_key: {"sha256": sha, "mac": "0" * 64}}))
    with pytest.raises(EdgemedError, match="tampered"):
        check_artifact(folder, default_model.artifact)
    # The secret the real verdicts are MAC'd with is the install's own, readable by it alone.
    secret = Path(os.environ["EDGEMED_HOME"]) / "model-verdicts.key"
    intact = _model_copy(tmp_path / "b", default_model)
    check_artifact(intact, default_model.artifact)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    entries = json.loads(cache.read_text())
    assert all(isinstance(v, dict) and len(v["mac"]) == 64 for v in entries.values())


def test_a_file_swapped_after_verification_is_refused(
    default_model: InstalledModel, tmp_path: Path
) -> None:
    folder = _model_copy(tmp_path, default_model)
    write_manifest(folder, [default_model.artifact])
    path = folder / default_model.artifact.files[0].path
    vouched = vouch_for(path)
    vouched.ensure_unchanged()  # nothing happened yet
    evil = tmp_path / "evil.gguf"
    shutil.copyfile(path, evil)
    os.replace(evil, path)  # same bytes even: another file all the same
    with pytest.raises(EdgemedError, match="changed after it was checked"):
        vouched.ensure_unchanged()
