"""Soak: random ``kill -9`` during saves, exports, backups and passphrase changes.

After every kill: one of the two passphrases unlocks; every acknowledged save is there with its
hash; ``verify_audit`` is intact (chain, MACs, schema, every page, search index, the chain head in
the keyring); every acknowledged export parses in full and no export is left half-written under
its name (a hidden ``.partial-`` file a kill leaves is 0600, removed by the next export into the
folder, and counted); every acknowledged
backup passes its own size + sha256 check. At the end the newest backup is restored and verified.

``python -m bench soak`` (by hand: it takes minutes). ``EDGEMED_SOAK_KILLS`` (default 120),
``EDGEMED_SOAK_SEED`` (default 13). A short run is ``tests/store/test_soak.py``.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgemed.store import Store, WrongPassphrase, restore_backup
from edgemed.store.backup import read_header

BY_HAND = True
ROOT = Path(__file__).resolve().parents[1]
MODES = ("save", "save", "export", "backup", "passwd")


@dataclass
class SoakFigures:
    kills: int = 0
    by_mode: dict[str, int] = field(default_factory=dict)
    saves_acknowledged: int = 0
    saves_lost: int = 0
    exports_acknowledged: int = 0
    exports_bad: int = 0
    partial_files_left: int = 0
    backups_acknowledged: int = 0
    backups_bad: int = 0
    passphrase_changes: int = 0
    no_passphrase_worked: int = 0
    verify_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (
            self.saves_lost
            or self.exports_bad
            or self.backups_bad
            or self.no_passphrase_worked
            or self.verify_failures
        )


def _run_and_kill(
    db: Path, passphrase: str, mode: str, out: Path, rng: random.Random
) -> list[list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.soak_writer", str(db), passphrase, mode, str(out)],
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
            elif line.endswith("\n"):
                lines.append(line.split())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(120):
        proc.kill()
        raise RuntimeError(proc.stderr.read() if proc.stderr else "writer did not start")
    time.sleep(rng.uniform(0.02, 0.8))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    reader.join(30)
    return [line for line in lines if line]


def _export_complete(path: Path, count: int) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":
            return len(list(csv.DictReader(text.splitlines()))) == count
        return len(json.loads(text)["entry"]) == count
    except (OSError, ValueError, KeyError):
        return False


def soak(kills: int, seed: int, folder: Path) -> SoakFigures:
    from bench.soak_writer import CHEAP, PHRASES, USER

    started = time.perf_counter()
    figures = SoakFigures()
    db, out = folder / "log" / "encounters.db", folder / "out"
    out.mkdir(parents=True)
    Store.create(db, USER, PHRASES[0], kdf=CHEAP).close()
    rng, current = random.Random(seed), PHRASES[0]
    committed: dict[tuple[str, int], str] = {}
    exports: dict[Path, int] = {}
    backups: list[Path] = []
    for number in range(kills):
        # The first four kills cover every mode once (the short test run too); then at random.
        mode = ("save", "export", "backup", "passwd")[number] if number < 4 else rng.choice(MODES)
        figures.by_mode[mode] = figures.by_mode.get(mode, 0) + 1
        reported = _run_and_kill(db, current, mode, out, rng)
        figures.kills += 1
        for line in reported:
            if line[0] == "saved":
                committed[(line[1], int(line[2]))] = line[3]
            elif line[0] == "exported":
                exports[Path(line[1])] = int(line[2])
            elif line[0] == "backup":
                backups.append(Path(line[1]))
            elif line[0] == "passphrase":
                figures.passphrase_changes += 1
                current = line[1]
        store = Store.open(db)
        unlocked = None
        for candidate in [current, *[p for p in PHRASES if p != current]]:
            try:
                store.unlock(USER, candidate)
            except WrongPassphrase:
                continue
            unlocked = candidate
            break
        if unlocked is None:
            figures.no_passphrase_worked += 1
            continue
        current = unlocked
        for (encounter_id, version), digest in committed.items():
            try:
                if store.get(encounter_id, version).record_sha256 != digest:
                    figures.saves_lost += 1
            except Exception:
                figures.saves_lost += 1
        report = store.verify_audit()
        if not report.ok:
            figures.verify_failures += [f"{p.kind}: {p.message}" for p in report.problems]
        store.close()
    figures.saves_acknowledged = len(committed)
    figures.exports_acknowledged = len(exports)
    figures.backups_acknowledged = len(backups)
    for path, count in exports.items():
        if not _export_complete(path, count):
            figures.exports_bad += 1
    for path in out.iterdir():
        if ".partial-" in path.name:
            figures.partial_files_left += 1
            if stat.S_IMODE(path.stat().st_mode) != 0o600:
                figures.exports_bad += 1
        elif path.name.startswith("export-") and path not in exports:
            # Put in place but killed before it was reported: it must still be whole.
            try:
                json.loads(path.read_text()) if path.suffix == ".fhir" else path.read_text()
            except ValueError:
                figures.exports_bad += 1
    for path in backups:
        try:
            read_header(path)
        except Exception:
            figures.backups_bad += 1
    if backups:
        from bench.soak_writer import BACKUP_PHRASE

        restored = restore_backup(
            backups[-1],
            BACKUP_PHRASE,
            dest=folder / "restored" / "encounters.db",
            user="check",
            passphrase="restore check phrase",
            kdf=CHEAP,
        )
        if not restored.verify_audit().ok:
            figures.verify_failures.append("the newest backup does not verify once restored")
        restored.close()
    figures.seconds = time.perf_counter() - started
    return figures


def main() -> None:
    kills = int(os.environ.get("EDGEMED_SOAK_KILLS", "120"))
    seed = int(os.environ.get("EDGEMED_SOAK_SEED", "13"))
    with tempfile.TemporaryDirectory() as tmp:
        figures = soak(kills, seed, Path(tmp))
    print(f"kills: {figures.kills} ({figures.by_mode}), seed {seed}")
    print(
        f"acknowledged: {figures.saves_acknowledged} saves, {figures.exports_acknowledged} "
        f"exports, {figures.backups_acknowledged} backups, {figures.passphrase_changes} "
        "passphrase changes"
    )
    print(
        f"lost saves: {figures.saves_lost}; bad exports: {figures.exports_bad}; bad backups: "
        f"{figures.backups_bad}; no passphrase worked: {figures.no_passphrase_worked}; "
        f"verify failures: {len(figures.verify_failures)}; hidden partial files left by kills: "
        f"{figures.partial_files_left}"
    )
    for failure in figures.verify_failures[:10]:
        print("  ", failure)
    print(f"{figures.seconds:.0f} s; {'OK' if figures.ok else 'FAILED'}")
