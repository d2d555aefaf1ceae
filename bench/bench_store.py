"""The encrypted encounter log against plain SQLite, measured in the same run.

- insert: N encounters saved one by one through ``Store`` (SQLCipher, one transaction each with
  its audit entry, WAL + synchronous FULL) vs stdlib sqlite3 doing the same two inserts per
  transaction with WAL + FULL. Ratio = Store throughput / plain throughput (target >= 0.5).
- query: fetching encounters by id, Store.get vs the same SELECT in plain sqlite3.
- unlock: open + unlock with the default Argon2id cost (target <= 1 s here), vs Argon2id alone.
- queue: today's queue from a log of 100,000 encounters (target < 50 ms), vs the same SQL on a
  plaintext copy of the same log.

Sizes: ``EDGEMED_BENCH_STORE_N`` (default 500), ``EDGEMED_BENCH_STORE_LOG`` (default 100000).
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from edgemed.store import Argon2Params, EncounterRecord, Findings, Store, encounters
from edgemed.store import audit as audit_chain
from edgemed.store.database import write_transaction
from edgemed.store.encounters import build_row
from edgemed.store.records import to_timestamp

USER, PASSPHRASE = "bench", "a long enough clinic passphrase"


def _record(n: int, arrived: datetime) -> EncounterRecord:
    category, target = random.choice([("red", 0), ("orange", 10), ("yellow", 60), ("green", 240)])
    return EncounterRecord(
        patient={
            "clinic_number": f"C-{n:06d}",
            "name": f"Patient {n}",
            "sex": "female",
            "age_years": 30,
        },
        complaint="fever and cough for three days, now short of breath at rest",
        decision={
            "category": category,
            "target_minutes": target,
            "reasons": ["respiratory rate 32/min", "SpO2 91%"],
            "warnings": [],
            "protocol_id": "sats-adult",
            "protocol_version": "2012.1",
            "protocol_sha256": "ab" * 32,
        },
        findings=Findings(confirmed=({"code": "fever", "label": "Fever"},)),
        vitals={"heart_rate": 118, "respiratory_rate": 32, "temperature_c": 38.9, "spo2": 91},
        handover_note="Adult with fever and breathlessness; oxygen started; review in 10 minutes.",
        arrived_at=arrived,
        decided_at=arrived + timedelta(minutes=4),
    )


def _best(samples: list[float]) -> float:
    return statistics.median(samples)


def _plain_copy(store: Store, path: Path) -> sqlite3.Connection:
    """A plaintext copy of ``store`` (same tables, indexes, FTS and triggers), opened with the
    stdlib sqlite3 in WAL + synchronous FULL: the reference for "the same work, unencrypted"."""
    store.db.execute(f"ATTACH DATABASE '{path}' AS plain KEY ''")
    store.db.execute("SELECT sqlcipher_export('plain')").fetchall()
    store.db.execute("DETACH DATABASE plain")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def bench_insert_and_query(folder: Path, n: int) -> None:
    kdf = Argon2Params(memory_kib=1024, time_cost=1, parallelism=1)  # unlock is measured apart
    store = Store.create(folder / "enc.db", USER, PASSPHRASE, kdf=kdf)
    now = datetime.now(timezone.utc)
    records = [_record(i, now) for i in range(n)]

    started = time.perf_counter()
    ids = [store.save_encounter(r).encounter_id for r in records]
    store_s = time.perf_counter() - started

    plain = _plain_copy(store, folder / "plain.db")
    plain.execute("DELETE FROM encounters")  # the same empty table the Store started from
    rows = [build_row(f"{i:010x}", 1, r, "", USER) for i, r in enumerate(records)]
    insert_row = (
        f"INSERT INTO encounters ({', '.join(rows[0])}) VALUES ({', '.join('?' for _ in rows[0])})"
    )
    started = time.perf_counter()
    for i, row in enumerate(rows):
        # The same three writes a save makes: the encounter, its audit entry, the chain head.
        plain.execute("BEGIN IMMEDIATE")
        plain.execute(insert_row, list(row.values()))
        plain.execute(
            "INSERT INTO audit (at, user, action, subject, detail_json, prev_hash, hash) "
            "VALUES (?, ?, 'save', ?, ?, ?, ?)",
            [row["saved_at"], USER, row["encounter_id"], row["record_sha256"], str(i), str(i + 1)],
        )
        plain.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)", [str(i)])
        plain.execute("COMMIT")
    plain_s = time.perf_counter() - started
    print(
        f"insert: Store {n / store_s:8.1f} encounters/s, plain sqlite3 {n / plain_s:8.1f}/s, "
        f"ratio {plain_s / store_s:.2f}x (target >= 0.5x)"
    )

    lookups = random.sample(range(n), min(n, 300))
    by_id = (
        "SELECT encounter_id, version, record_json, saved_at, saved_by, correction_reason, "
        "record_sha256 FROM encounters WHERE encounter_id = ? ORDER BY version"
    )

    def select_all(conn: Any, id_of: Callable[[int], str]) -> float:
        started = time.perf_counter()
        for i in lookups:
            conn.execute(by_id, [id_of(i)]).fetchall()
        return time.perf_counter() - started

    encrypted_q = select_all(store.db.conn, lambda i: ids[i])
    plain_q = select_all(plain, lambda i: str(rows[i]["encounter_id"]))
    started = time.perf_counter()
    for i in lookups:
        store.get(ids[i])
    store_q = time.perf_counter() - started
    per_s = len(lookups)
    print(
        f"query by id: same SELECT encrypted {per_s / encrypted_q:8.1f}/s, plain sqlite3 "
        f"{per_s / plain_q:8.1f}/s, ratio {plain_q / encrypted_q:.2f}x (target >= 0.5x); "
        f"Store.get (prefix lookup + typed record) {per_s / store_q:.1f}/s"
    )
    plain.close()
    store.close()


def bench_unlock(folder: Path) -> None:
    Store.create(folder / "unlock.db", USER, PASSPHRASE).close()  # the default Argon2id cost
    kdf = Argon2Params()

    def unlock() -> None:
        store = Store.open(folder / "unlock.db")
        store.unlock(USER, PASSPHRASE)
        store.close()

    unlock_s = _best(_timed(unlock, 5))
    kdf_s = _best(_timed(lambda: kdf.derive(PASSPHRASE, b"0123456789abcdef"), 5))
    print(
        f"unlock (Argon2id m={kdf.memory_kib // 1024} MiB t={kdf.time_cost} p={kdf.parallelism}): "
        f"{unlock_s * 1000:.0f} ms (target <= 1000 ms); Argon2id alone {kdf_s * 1000:.0f} ms; "
        f"ratio {unlock_s / kdf_s:.2f}x"
    )


def _timed(action: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def bench_queue(folder: Path, size: int) -> None:
    kdf = Argon2Params(memory_kib=1024, time_cost=1, parallelism=1)
    store = Store.create(folder / "big.db", USER, PASSPHRASE, kdf=kdf)
    now = datetime.now().astimezone()
    midnight = datetime.combine(now.date(), datetime.min.time()).astimezone()
    started = time.perf_counter()
    # Real rows and a real audit chain, loaded in batches (one save per transaction would only
    # measure fsync 100,000 times): a year of arrivals, then a busy clinic day of 150 so far.
    today_count, batch = 150, 5000
    for first in range(0, size, batch):
        with write_transaction(store.db) as db:
            for i in range(first, min(size, first + batch)):
                if i >= size - today_count:
                    arrived = midnight + (now - midnight) * (i - size + today_count) / today_count
                else:
                    arrived = midnight - timedelta(minutes=(size - i) * 525_600 / size)
                row = build_row(f"{i:010x}", 1, _record(i, arrived), "", USER)
                encounters.insert(db, row)
                audit_chain.append(
                    db,
                    store.keyring.log_id,
                    USER,
                    "save",
                    row["encounter_id"],
                    {
                        "encounter_id": row["encounter_id"],
                        "version": 1,
                        "record_sha256": row["record_sha256"],
                    },
                )
    load_s = time.perf_counter() - started
    today = len(store.queue())
    queue_s = _best(_timed(store.queue, 21))

    plain = _plain_copy(store, folder / "big-plain.db")
    sql = (
        "SELECT e.encounter_id, e.version, e.record_json FROM encounters e JOIN "
        "(SELECT encounter_id AS id, max(version) AS v FROM encounters WHERE encounter_id IN "
        "(SELECT encounter_id FROM encounters WHERE arrived_at >= ? AND arrived_at < ?) "
        "GROUP BY encounter_id) last ON e.encounter_id = last.id AND e.version = last.v "
        "ORDER BY e.target_minutes IS NULL, e.target_minutes, e.arrived_at"
    )
    params = [to_timestamp(midnight), to_timestamp(midnight + timedelta(days=1))]
    encrypted_s = _best(_timed(lambda: store.db.conn.execute(sql, params).fetchall(), 21))
    plain_s = _best(_timed(lambda: plain.execute(sql, params).fetchall(), 21))
    plain.close()
    size_mb = (folder / "big.db").stat().st_size / 1e6
    print(
        f"today's queue from {size:,} encounters ({today} today, log {size_mb:.0f} MB, "
        f"loaded in {load_s:.0f} s): Store.queue {queue_s * 1000:.1f} ms (target < 50 ms); "
        f"its SQL encrypted {encrypted_s * 1000:.2f} ms vs plain {plain_s * 1000:.2f} ms, "
        f"ratio {plain_s / encrypted_s:.2f}x"
    )
    started = time.perf_counter()
    report = store.verify_audit()
    print(
        f"verify the whole log: {time.perf_counter() - started:.1f} s, "
        f"{report.entries:,} audit entries, ok={report.ok}"
    )
    store.close()


def main() -> None:
    random.seed(1)
    n = int(os.environ.get("EDGEMED_BENCH_STORE_N", "500"))
    size = int(os.environ.get("EDGEMED_BENCH_STORE_LOG", "100000"))
    with tempfile.TemporaryDirectory(
        prefix="edgemed-bench-store-", dir=os.environ.get("EDGEMED_BENCH_DIR")
    ) as tmp:
        folder = Path(tmp)
        bench_insert_and_query(folder, n)
        bench_unlock(folder)
        bench_queue(folder, size)
