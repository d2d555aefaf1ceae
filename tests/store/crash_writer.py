"""A writer the crash test kills with SIGKILL: it reports each save only after it returned.

Usage: python -m tests.store.crash_writer DB PASSPHRASE MODE
MODE ``encounters``: save, correct and draft in a loop. MODE ``passwd``: keep changing the
passphrase between two values, printing the one now in force.
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgemed.store import Store

from .conftest import CHEAP_KDF, USER, make_record


def main(db: Path, passphrase: str, mode: str) -> None:
    store = Store.open(db)
    store.unlock(USER, passphrase)
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        if mode == "passwd":
            new = "phrase-b" if passphrase == "phrase-a" else "phrase-a"
            store.change_passphrase(USER, passphrase, new, kdf=CHEAP_KDF)
            passphrase = new
            print("passphrase", passphrase, flush=True)
            continue
        saved = store.save_encounter(make_record(f"K{n}"))
        print("saved", saved.encounter_id, saved.version, saved.record_sha256, flush=True)
        store.save_draft("open-encounter", {"complaint": f"typing {n}"})
        if n % 3 == 0:
            fixed = store.correct_encounter(
                saved.encounter_id, make_record(f"K{n}b"), reason="typo"
            )
            print("saved", fixed.encounter_id, fixed.version, fixed.record_sha256, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
