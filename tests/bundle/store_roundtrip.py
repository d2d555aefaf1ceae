"""Save one triaged encounter in a new encrypted log, reopen the log, read the encounter back.

Run with the Python of an installed edgemed (a bundle install, the emulated aarch64 root):
    PYTHON store_roundtrip.py DIRECTORY
Prints one JSON object; exits 1 if anything read back differs from what was saved.
Used by tests/bundle (on this machine) and bench/bench_aarch64.py (under qemu).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from edgemed.protocol import Finding, Patient, Vitals, assess
from edgemed.store import Argon2Params, EncounterRecord, Store

MARKER = "ROUNDTRIP-MARKER-chest-pain-since-dawn"


def main(directory: Path) -> int:
    path = directory / "encounters.db"
    started = time.perf_counter()
    decision = assess(Patient(age_years=52), Vitals(hr=118, rr=24, sbp=88), [Finding("chest_pain")])
    assessed = time.perf_counter()
    # The default cost, the one a Pi uses: 64 MiB of Argon2id, three passes.
    store = Store.create(path, "nurse", "correct horse battery", kdf=Argon2Params())
    created = time.perf_counter()
    saved = store.save_encounter(
        EncounterRecord(
            patient={"age_years": 52, "sex": "female"},
            complaint=MARKER,
            decision=decision.to_dict(),
            vitals={"hr": 118, "rr": 24, "sbp": 88},
        )
    )
    store.close()
    reopened = Store.open(path)
    reopened.unlock("nurse", "correct horse battery")
    unlocked = time.perf_counter()
    back = reopened.get(saved.encounter_id)
    audit = reopened.verify_audit()
    reopened.close()
    plaintext = any(MARKER.encode() in p.read_bytes() for p in directory.iterdir() if p.is_file())
    result = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "category": decision.category.value,
        "read_back_category": back.category,
        "complaint_matches": back.record.complaint == MARKER,
        "audit_ok": audit.ok,
        "plaintext_on_disk": plaintext,
        "seconds": {
            "assess": round(assessed - started, 3),
            "create_log_argon2": round(created - assessed, 3),
            "save_reopen_unlock": round(unlocked - created, 3),
        },
    }
    print(json.dumps(result, indent=2))
    same = back.category == decision.category.value and result["complaint_matches"]
    return 0 if same and result["audit_ok"] and not plaintext else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
