"""edgemed.files: the one sha256, safe path, atomic write and output-path rule of edgemed."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from edgemed.files import (
    OutputRefusal,
    check_destination,
    is_inside,
    safe_relative,
    sha256_file,
    write_atomic,
)


def test_sha256_of_a_file_reads_it_all(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one read
    path = tmp_path / "blob"
    path.write_bytes(data)
    seen: list[int] = []

    assert sha256_file(path, seen.append) == hashlib.sha256(data).hexdigest()
    assert sum(seen) == len(data)


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../b", "a\\b", "a/.."])
def test_a_path_that_could_leave_its_folder_is_refused(path: str) -> None:
    assert safe_relative(path) is None


def test_a_plain_relative_path_is_kept_clean() -> None:
    assert safe_relative("models/./tiny/model.gguf") == "models/tiny/model.gguf"


def test_is_inside_follows_symlinks(tmp_path: Path) -> None:
    (tmp_path / "bundle").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "bundle" / "link").symlink_to(tmp_path / "elsewhere")
    assert is_inside(tmp_path / "bundle" / "key.pub", tmp_path / "bundle")
    assert not is_inside(tmp_path / "bundle" / "link" / "key.pub", tmp_path / "bundle")


def test_an_atomic_write_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_atomic(tmp_path / "secret", b"x")
        write_atomic(tmp_path / "shared", b"y", mode=0o644)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "settings.toml"
    write_atomic(target, "old")

    def power_cut(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("edgemed.files.os.fsync", power_cut)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]


def test_no_replace_never_writes_over_a_file(tmp_path: Path) -> None:
    target = tmp_path / "key"
    target.write_bytes(b"first")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"second", replace=False)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_a_partial_file_of_a_killed_writer_is_removed(tmp_path: Path) -> None:
    dead = tmp_path / ".export.csv.partial-999999999-abcd"  # no such process
    mine = tmp_path / f".export.csv.partial-{os.getpid()}-abcd"  # alive: kept
    dead.write_text("half")
    mine.write_text("half")
    write_atomic(tmp_path / "other", b"")
    assert not dead.exists()
    assert mine.exists()


def _reason(dest: Path, **rules: object) -> str:
    with pytest.raises(OutputRefusal) as refused:
        check_destination(dest, **rules)  # type: ignore[arg-type]
    return refused.value.reason


def test_the_output_path_rules(tmp_path: Path) -> None:
    log = tmp_path / "data" / "encounters.db"
    log.parent.mkdir()
    log.write_bytes(b"")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link.db").symlink_to(log)
    (tmp_path / "out" / "old.csv").write_text("")

    assert _reason(tmp_path / "out" / "link.db", protected=[log]) == "protected"
    assert _reason(tmp_path / "data" / "x.csv", protected_folders=[log.parent]) == "inside"
    assert _reason(tmp_path / "out") == "folder"
    assert _reason(tmp_path / "out" / "old.csv") == "exists"
    assert _reason(tmp_path / "nowhere" / "x.csv") == "no-folder"
    assert check_destination(tmp_path / "out" / "old.csv", force=True).name == "old.csv"
    assert (
        check_destination(tmp_path / "out" / "new.csv") == (tmp_path / "out" / "new.csv").resolve()
    )
