"""Before any load: size, sha256 (cached by size, mtime and ctime) and GGUF header sanity."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import gguf
import pytest

from edgemed.catalog import InstalledModel, ModelFileError, check_artifact, read_gguf_header
from edgemed.catalog.gguf_header import GGML_BLOCKS
from edgemed.catalog.manifest import write_manifest


def test_block_table_matches_ggml() -> None:
    known = {int(t): v for t, v in gguf.GGML_QUANT_SIZES.items()}
    for type_id, block in GGML_BLOCKS.items():
        assert known[type_id] == block, type_id


def test_real_header(default_model: InstalledModel) -> None:
    path = default_model.entry_point
    header = read_gguf_header(path)
    assert header.version == 3
    assert header.architecture == "llama"
    assert header.context_length() == 8192
    assert "<|im_start|>" in header.chat_template
    assert header.array_lengths["tokenizer.ggml.tokens"] == 49152
    # Every tensor byte accounted for: the computed end of the data is the end of the file.
    assert header.data_end == path.stat().st_size


@pytest.fixture
def model_copy(default_model: InstalledModel, tmp_path: Path) -> tuple[Path, InstalledModel]:
    folder = tmp_path / default_model.artifact.id
    folder.mkdir()
    shutil.copy(default_model.entry_point, folder / default_model.entry_point.name)
    write_manifest(folder, [default_model.artifact])
    return folder, default_model


def test_intact_copy_passes_and_is_cached(model_copy: tuple[Path, InstalledModel]) -> None:
    folder, model = model_copy
    check_artifact(folder, model.artifact)
    cache = Path(os.environ["EDGEMED_CACHE"]) / "verified-models.json"
    assert str(folder.resolve()) in cache.read_text()


def test_truncated_file_is_named(model_copy: tuple[Path, InstalledModel]) -> None:
    folder, model = model_copy
    path = folder / model.artifact.files[0].path
    with path.open("r+b") as stream:
        stream.truncate(path.stat().st_size - 1000)
    with pytest.raises(ModelFileError, match="truncated") as caught:
        check_artifact(folder, model.artifact)
    assert str(path) in caught.value.message
    # The header check alone also sees it, with no checksum to compare against.
    with pytest.raises(ModelFileError, match="shorter than its tensors need"):
        read_gguf_header(path)


def test_tampered_file_is_caught_even_with_its_mtime_restored(
    model_copy: tuple[Path, InstalledModel],
) -> None:
    folder, model = model_copy
    path = folder / model.artifact.files[0].path
    check_artifact(folder, model.artifact)  # the good verdict is now cached
    before = path.stat()
    with path.open("r+b") as stream:
        stream.seek(50_000_000)
        byte = stream.read(1)
        stream.seek(50_000_000)
        stream.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ModelFileError, match="tampered") as caught:
        check_artifact(folder, model.artifact)
    assert str(path) in caught.value.message


def test_missing_file_is_named(model_copy: tuple[Path, InstalledModel]) -> None:
    folder, model = model_copy
    (folder / model.artifact.files[0].path).unlink()
    with pytest.raises(ModelFileError, match="missing"):
        check_artifact(folder, model.artifact)


def _header(tensors: int, kvs: int, version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04" + b"\0" * 100, "GGUF signature"),
        (_header(0, 0, version=99) + b"\0" * 16, "version 99"),
        (_header(10**9, 0) + b"\0" * 16, "counts are impossible"),
        # One metadata entry whose key claims to be 2**40 bytes long.
        (_header(0, 1) + struct.pack("<Q", 2**40) + b"\0" * 16, "string length is impossible"),
        (
            _header(1, 0) + struct.pack("<Q", 1) + b"w" + struct.pack("<I", 9) + b"\0" * 8,
            "dimensions",
        ),
        (b"GGUF", "GGUF signature"),
    ],
)
def test_broken_headers_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as caught:
        read_gguf_header(path)
    assert str(path) in caught.value.message
