"""The process ``bench/bench_soak.py`` kills with SIGKILL. It reports each thing only after it
returned (so a reported thing is an acknowledged one).

Usage: python -m bench.soak_writer DB PASSPHRASE MODE OUTDIR
MODE save | export | backup | passwd. OUTDIR receives exports and backups (new names each time).
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO, cast

from edgemed.store import Argon2Params, EncounterRecord, Findings, Store, write_backup
from edgemed.store.outputs import output_file

CHEAP = Argon2Params(memory_kib=1024, time_cost=1, parallelism=1)
USER = "soak"
PHRASES = ("soak phrase one", "soak phrase two")
BACKUP_PHRASE = "soak backup words"


def record(n: int) -> EncounterRecord:
    now = datetime.now(timezone.utc)
    return EncounterRecord(
        patient={"clinic_number": f"S-{n}", "name": f"Soak {n}", "sex": "female", "age_years": 30},
        complaint="fever and cough " * 20,
        decision={
            "category": "yellow",
            "target_minutes": 60,
            "reasons": ["fever"],
            "warnings": [],
            "protocol_id": "sats-2012",
            "protocol_version": "1.0",
            "protocol_sha256": "ab" * 32,
        },
        findings=Findings(confirmed=({"code": "fever"},)),
        vitals={"heart_rate": 100},
        arrived_at=now,
        decided_at=now,
    )


def main(db: Path, passphrase: str, mode: str, out: Path) -> None:
    store = Store.open(db)
    store.unlock(USER, passphrase)
    print("ready", flush=True)
    tag = secrets.token_hex(3)
    n = 0
    while True:
        n += 1
        if mode == "passwd":
            new = PHRASES[1] if passphrase == PHRASES[0] else PHRASES[0]
            store.change_passphrase(USER, passphrase, new, kdf=CHEAP)
            passphrase = new
            print("passphrase", passphrase, flush=True)
        elif mode == "export":
            fmt = "csv" if n % 2 else "fhir"
            dest = out / f"export-{tag}-{n}.{fmt}"
            with output_file(dest, database=db) as handle:
                if fmt == "csv":
                    count = store.export_csv(cast(TextIO, handle), plaintext=True)
                else:
                    bundle = store.export_fhir(plaintext=True)
                    json.dump(bundle, handle)
                    count = len(bundle["entry"])
            print("exported", dest, count, flush=True)
        elif mode == "backup":
            dest = out / f"backup-{tag}-{n}.backup"
            write_backup(store, dest, BACKUP_PHRASE, kdf=CHEAP)
            print("backup", dest, flush=True)
        else:
            saved = store.save_encounter(record(n))
            print("saved", saved.encounter_id, saved.version, saved.record_sha256, flush=True)
            store.save_draft("open", {"n": n})


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4]))
