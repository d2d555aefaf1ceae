"""The bundle manifest schema: written and read back, and refused when it cannot be trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgemed.catalog import (
    SCHEMA_VERSION,
    Artifact,
    ArtifactFile,
    ManifestError,
    read_manifest,
    write_manifest,
)

SHA = "a" * 64


def _artifact(**overrides: object) -> Artifact:
    fields: dict[str, object] = {
        "id": "tiny-q8_0",
        "family": "llama",
        "format": "gguf",
        "files": (ArtifactFile("tiny.Q8_0.gguf", SHA, 1234),),
        "quant": "Q8_0",
        "context": 512,
        "ram_mb": 40,
        "licence": "Apache-2.0",
        "languages": ("en", "sw"),
        "metrics": {"perplexity": 12.5},
    }
    fields.update(overrides)
    return Artifact(**fields)  # type: ignore[arg-type]


def test_round_trip(tmp_path: Path) -> None:
    onnx = _artifact(
        id="tiny-onnx-int8",
        format="onnx",
        files=(
            ArtifactFile("onnx/model.onnx", SHA, 10),
            ArtifactFile("onnx/tokenizer.json", SHA, 5),
        ),
    )
    write_manifest(tmp_path, [_artifact(), onnx], created_by="test")
    raw = json.loads((tmp_path / "manifest.json").read_text())
    assert raw["schema"] == SCHEMA_VERSION
    assert read_manifest(tmp_path) == [_artifact(), onnx]
    assert onnx.entry_point(tmp_path) == tmp_path / "onnx"
    assert _artifact().entry_point(tmp_path) == tmp_path / "tiny.Q8_0.gguf"
    assert onnx.size == 15


def _write_raw(directory: Path, document: object) -> None:
    (directory / "manifest.json").write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema=2), "schema 2"),
        (
            lambda d: d["artifacts"][0]["files"][0].update(path="../../etc/passwd"),
            "leaves the bundle",
        ),
        (lambda d: d["artifacts"][0]["files"][0].update(path="/etc/passwd"), "leaves the bundle"),
        (lambda d: d["artifacts"][0]["files"][0].update(sha256="xyz"), "no valid sha256"),
        (lambda d: d["artifacts"][0].update(format="safetensors"), "known formats"),
        (lambda d: d["artifacts"][0].update(id="Bad Id!"), "not a valid model id"),
        (lambda d: d["artifacts"][0].pop("family"), "lacks the field"),
        (lambda d: d["artifacts"][0]["files"][0].update(path="tiny.bin"), "no .gguf file"),
        (lambda d: d.update(artifacts=[]), "lists no artifacts"),
    ],
)
def test_untrustworthy_manifests_are_refused(tmp_path: Path, mutate: object, message: str) -> None:
    write_manifest(tmp_path, [_artifact()])
    document = json.loads((tmp_path / "manifest.json").read_text())
    mutate(document)  # type: ignore[operator]
    _write_raw(tmp_path, document)
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path)


def test_a_folder_without_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not an edgemed model bundle"):
        read_manifest(tmp_path)


def test_broken_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="cannot be read"):
        read_manifest(tmp_path)


def test_writer_refuses_what_the_reader_would_refuse(tmp_path: Path) -> None:
    bad = _artifact(files=(ArtifactFile("../x.gguf", SHA, 1),))
    with pytest.raises(ManifestError):
        write_manifest(tmp_path, [bad])
    assert not (tmp_path / "manifest.json").exists()


def test_a_manifest_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer stopped before the rename leaves the old manifest whole and no partial file."""
    write_manifest(tmp_path, [_artifact()], created_by="first")
    before = (tmp_path / "manifest.json").read_bytes()

    def power_cut(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("edgemed.files.os.fsync", power_cut)
    with pytest.raises(OSError):
        write_manifest(tmp_path, [_artifact(quant="Q4_0")], created_by="second")

    assert (tmp_path / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]
