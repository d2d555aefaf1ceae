"""A damaged file and a full disk give clear errors, and nothing saved before is lost."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgemed.store import CorruptLog, DiskFull, Store
from edgemed.store.keyring import Keyring

from .conftest import CHEAP_KDF, PASSPHRASE, USER, make_record


def _overwrite(path: Path, offset: int, length: int = 64) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(length))


def test_a_damaged_first_page_is_reported_as_a_damaged_log(store: Store, db_path: Path) -> None:
    store.save_encounter(make_record("C1"))
    store.close()
    _overwrite(db_path, 100)
    with pytest.raises(CorruptLog) as damaged:
        Store.open(db_path).unlock(USER, PASSPHRASE)
    assert "damaged" in damaged.value.message
    assert "edgemed logs restore" in (damaged.value.hint or "")


def test_a_damaged_later_page_is_caught_when_read(store: Store, db_path: Path) -> None:
    for n in range(40):
        store.save_encounter(make_record(f"C{n}", complaint="cough " * 200))
    store.close()
    size = db_path.stat().st_size
    _overwrite(db_path, size - 4096 + 200)  # inside the last page
    reopened = Store.open(db_path)
    with pytest.raises(CorruptLog):
        reopened.unlock(USER, PASSPHRASE)
        reopened.verify_audit()
        reopened.list_encounters()
    reopened.close()


def test_a_file_that_is_not_a_log(tmp_path: Path) -> None:
    fake = tmp_path / "encounters.db"
    fake.write_bytes(b"just some text, not a database" * 100)
    with pytest.raises(CorruptLog):
        Store.open(fake)  # no keyring beside it
    real = Store.create(tmp_path / "real.db", USER, PASSPHRASE, kdf=CHEAP_KDF)
    real.close()
    Keyring.path_for(fake).write_bytes(Keyring.path_for(tmp_path / "real.db").read_bytes())
    with pytest.raises(CorruptLog):
        Store.open(fake).unlock(USER, PASSPHRASE)
    Keyring.path_for(fake).write_text("{not json")
    with pytest.raises(CorruptLog):
        Store.open(fake)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs: a real filesystem that runs out of space."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here; test_full_disk_by_file_size_limit covers it")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_refuses_the_save_and_loses_nothing(tiny_disk: Path) -> None:
    db_path = tiny_disk / "encounters.db"
    store = Store.create(db_path, USER, PASSPHRASE, kdf=CHEAP_KDF)
    filler = tiny_disk / "filler"
    filler.write_bytes(b"\0" * (2 * 1024 * 1024 + 512 * 1024))
    saved = []
    with pytest.raises(DiskFull) as full:
        for n in range(1000):
            saved.append(store.save_encounter(make_record(f"D{n}", complaint="x" * 20_000)))
    assert "NOT saved" in full.value.message
    assert saved, "the disk filled before even one save"
    # The same store keeps working for reads.
    assert len(store.list_encounters()) == len(saved)
    # The final checkpoint may not fit either; the WAL keeps everything.
    with contextlib.suppress(DiskFull):
        store.close()
    filler.unlink()

    reopened = Store.open(db_path)
    reopened.unlock(USER, PASSPHRASE)
    for one in saved:
        assert reopened.get(one.encounter_id).record_sha256 == one.record_sha256
    assert len(reopened.list_encounters()) == len(saved)
    assert reopened.verify_audit().ok
    reopened.close()


_LIMITED_WRITER = textwrap.dedent(
    """
    import json, resource, signal, sys
    sys.path[:0] = json.loads(sys.argv[3])
    from edgemed.store import Store, DiskFull, DiskError
    from tests.store.conftest import make_record
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    store = Store.open(__import__("pathlib").Path(sys.argv[1]))
    store.unlock("amina", sys.argv[2])
    limit = int(sys.argv[4])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    saved = []
    try:
        for n in range(1000):
            record = make_record(f"F{n}", complaint="y" * 20000)
            saved.append(store.save_encounter(record).encounter_id)
    except (DiskFull, DiskError) as error:
        print(json.dumps({"saved": saved, "error": type(error).__name__, "message": str(error)}))
    """
)


def test_full_disk_by_file_size_limit(store: Store, db_path: Path) -> None:
    """Where mounting is not allowed: RLIMIT_FSIZE in a writer subprocess plays the full disk."""
    store.close()
    root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _LIMITED_WRITER,
            str(db_path),
            PASSPHRASE,
            f'["{root}"]',
            str(512 * 1024),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    import json

    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["error"] in ("DiskFull", "DiskError")
    # SQLite reports EFBIG as an I/O error (DiskError), ENOSPC as a full disk (DiskFull).
    assert "saved before is safe" in outcome["message"].lower()
    reopened = Store.open(db_path)
    reopened.unlock(USER, PASSPHRASE)
    ids = {e.encounter_id for e in reopened.list_encounters()}
    assert set(outcome["saved"]) <= ids and outcome["saved"]
    assert reopened.verify_audit().ok
    reopened.close()
