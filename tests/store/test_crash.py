"""kill -9 the writer at random moments, and cut the power mid-commit: every committed
encounter is still there, whole, and the audit chain verifies after every crash."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from edgemed.store import Store, WrongPassphrase

from .conftest import CHEAP_KDF, PASSPHRASE, USER, make_record

ROOT = Path(__file__).resolve().parents[2]
KILLS = 12
PASSWD_KILLS = 5


def _run_and_kill(db: Path, passphrase: str, mode: str, rng: random.Random) -> list[list[str]]:
    """Start the writer, SIGKILL it at a random moment after it is ready; its reported lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_writer", str(db), passphrase, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: list[list[str]] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ready"):
                ready.set()
            elif line.endswith("\n"):  # a line cut by the kill was never fully reported
                lines.append(line.split())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(60), proc.stderr.read() if proc.stderr else ""
    time.sleep(rng.uniform(0.02, 0.6))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    reader.join(30)
    assert proc.returncode == -signal.SIGKILL
    return [line for line in lines if line]


def test_kill_minus_nine_never_loses_a_committed_encounter(store: Store, db_path: Path) -> None:
    store.close()
    rng = random.Random(4)
    committed: dict[tuple[str, int], str] = {}
    for _ in range(KILLS):
        for kind, encounter_id, version, digest in _run_and_kill(
            db_path, PASSPHRASE, "encounters", rng
        ):
            assert kind == "saved"
            committed[(encounter_id, int(version))] = digest

        after = Store.open(db_path)
        after.unlock(USER, PASSPHRASE)
        for (encounter_id, version), digest in committed.items():
            assert after.get(encounter_id, version).record_sha256 == digest
        report = after.verify_audit()
        assert report.ok, report.problems
        assert after.load_draft("open-encounter") is not None
        after.close()
    assert len(committed) > KILLS  # the writer really wrote between kills


def test_kill_during_a_passphrase_change_leaves_one_working_passphrase(tmp_path: Path) -> None:
    db = tmp_path / "encounters.db"
    Store.create(db, USER, "phrase-a", kdf=CHEAP_KDF).close()
    rng, current = random.Random(9), "phrase-a"
    for _ in range(PASSWD_KILLS):
        reported = [line[1] for line in _run_and_kill(db, current, "passwd", rng)]
        candidates = [reported[-1]] if reported else [current]
        candidates += [p for p in ("phrase-a", "phrase-b") if p not in candidates]
        store = Store.open(db)  # the keyring parses: never half-written
        unlocked_with = None
        for candidate in candidates:
            try:
                store.unlock(USER, candidate)
            except WrongPassphrase:
                continue
            unlocked_with = candidate
            break
        # One passphrase always works: the last one reported, or the next one when the kill came
        # after the keyring was replaced but before the change was reported.
        assert unlocked_with is not None
        current = unlocked_with
        assert store.verify_audit().ok
        store.close()


def test_power_cut_mid_commit_keeps_every_earlier_commit(store: Store, db_path: Path) -> None:
    """What a disk holds after a power cut: every fsynced commit, then a torn last write."""
    wal = db_path.with_name(db_path.name + "-wal")
    saved, wal_sizes, keyrings = [], [], []
    for n in range(12):
        saved.append(store.save_encounter(make_record(f"PC{n}")))
        wal_sizes.append(wal.stat().st_size)
        keyrings.append(Keyring_path(db_path).read_bytes())
    rng = random.Random(7)
    for trial in range(6):
        copy = db_path.parent / f"cut{trial}"
        copy.mkdir()
        shutil.copy(db_path, copy / db_path.name)
        # The keyring records the chain head only after a commit is on disk: when the power goes
        # during the last commit, it still holds the head of the one before.
        Keyring_path(copy / db_path.name).write_bytes(keyrings[-2])
        # Tear the last commit at a random byte (power went while it was being written) ...
        torn_at = rng.randrange(wal_sizes[-2], wal_sizes[-1])
        data = wal.read_bytes()[:torn_at]
        if trial % 2:  # ... or with garbage where the rest of the frame should be
            data += os.urandom(rng.randrange(1, 4096))
        (copy / wal.name).write_bytes(data)

        after = Store.open(copy / db_path.name)
        after.unlock(USER, PASSPHRASE)
        for one in saved[:-1]:
            assert after.get(one.encounter_id).record_sha256 == one.record_sha256
        ids = {e.encounter_id for e in after.list_encounters()}
        assert ids in ({s.encounter_id for s in saved}, {s.encounter_id for s in saved[:-1]})
        assert after.verify_audit().ok
        after.close()


def Keyring_path(db: Path) -> Path:
    from edgemed.store.keyring import Keyring

    return Keyring.path_for(db)
