"""The SQLCipher connection and the schema's ordered, named migrations.

Only this package touches sqlcipher3 and sqlite_utils (an import-linter contract says so).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlcipher3
import sqlite_utils

from edgemed.files import utc_now
from edgemed.store.errors import store_errors
from edgemed.store.records import to_timestamp

# Page size and KDF are SQLCipher 4 defaults; with a raw 256-bit key SQLCipher skips its own
# PBKDF2 (the data key is already random), which keeps opening the log fast on a Pi.
_PRAGMAS_AFTER_KEY = (
    # WAL + synchronous FULL: a commit is on disk (fsynced) before save returns.
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    # Sorts and temporary tables stay in memory: no plaintext temp file ever reaches the disk.
    "PRAGMA temp_store = MEMORY",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
    # Wiping freed memory made reads 4x slower here (bench/bench_store.py); the threat it meets
    # (reading a running process's memory) already needs the unlocked session. SQLCipher's
    # own default since 4.5 is OFF too; we say so explicitly.
    "PRAGMA cipher_memory_security = OFF",
    # Purged encounters are overwritten, not just unlinked from the b-tree.
    "PRAGMA secure_delete = ON",
)


def connect(path: Path, data_key: bytes, *, immutable: bool = False) -> sqlite_utils.Database:
    """Open (or create) the encrypted database with the raw data key and read it once.

    The read is the canary: SQLCipher accepts any key without complaint and only fails when a page
    is decrypted, so the key is proven only by reading real content.
    """
    with store_errors():
        if immutable:
            # Reading on a full disk: SQLite cannot even create the -shm index there. Only ever
            # used when the -wal is empty (everything is in the main file), and nothing is written.
            uri = "file:" + quote(str(path.resolve())) + "?immutable=1"
            conn = sqlcipher3.dbapi2.connect(uri, uri=True, check_same_thread=False)
        else:
            conn = sqlcipher3.dbapi2.connect(str(path), check_same_thread=False)
        try:
            conn.execute("PRAGMA cipher_log_level = NONE")
            conn.execute(f"PRAGMA key = \"x'{data_key.hex()}'\"")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            for pragma in _PRAGMAS_AFTER_KEY if not immutable else ():
                conn.execute(pragma).fetchall()
        except BaseException:
            conn.close()
            raise
    return sqlite_utils.Database(conn)


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One atomic write: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
    with store_errors():
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        try:
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise


# --- migrations: append only, never edit one that has shipped -------------------------------


def _meta_and_encounters(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("encounters").create(
        {
            "row_id": int,
            "encounter_id": str,
            "version": int,
            "arrived_at": str,
            "decided_at": str,
            "saved_at": str,
            "saved_by": str,
            "user": str,
            "correction_reason": str,
            "clinic_number": str,
            "patient_name": str,
            "category": str,
            "target_minutes": int,
            "protocol_id": str,
            "protocol_version": str,
            "protocol_sha256": str,
            "model_id": str,
            "model_sha256": str,
            "complaint": str,
            "record_json": str,
            "record_sha256": str,
        },
        pk="row_id",
        not_null={"encounter_id", "version", "arrived_at", "saved_at", "record_json"},
    )
    db.table("encounters").create_index(["encounter_id", "version"], unique=True)
    db.table("encounters").create_index(["arrived_at"])
    # A correction is a new row: an UPDATE is always a bug (or tampering).
    db.execute(
        "CREATE TRIGGER encounters_append_only BEFORE UPDATE ON encounters "
        "BEGIN SELECT RAISE(ABORT, 'encounters are append-only'); END"
    )


def _audit_chain(db: sqlite_utils.Database) -> None:
    db.table("audit").create(
        {
            "seq": int,
            "at": str,
            "user": str,
            "action": str,
            "subject": str,
            "detail_json": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="seq",
        not_null={"at", "action", "prev_hash", "hash"},
    )
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER audit_no_{verb.lower()} BEFORE {verb} ON audit "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )


def _drafts(db: sqlite_utils.Database) -> None:
    db.table("drafts").create(
        {"draft_id": str, "user": str, "updated_at": str, "body_json": str}, pk="draft_id"
    )


def _encounter_search(db: sqlite_utils.Database) -> None:
    # Full-text search over what a nurse looks someone up by; the index is inside the encrypted
    # file like everything else.
    db.table("encounters").enable_fts(
        ["clinic_number", "patient_name", "complaint"], create_triggers=True, tokenize="unicode61"
    )


def _audit_mac(db: sqlite_utils.Database) -> None:
    # A keyed MAC chain over the audit entries (audit.py). Its key is random and kept in meta,
    # inside the encrypted file, so a backup (re-encrypted under its own data key) still verifies.
    db.execute("ALTER TABLE audit ADD COLUMN mac TEXT")
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_mac_key', ?), "
        "('keyring_head', '1')",
        [secrets.token_hex(32)],
    )


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[sqlite_utils.Database], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_meta_and_encounters", _meta_and_encounters),
    Migration("0002_audit_chain", _audit_chain),
    Migration("0003_drafts", _drafts),
    Migration("0004_encounter_search", _encounter_search),
    Migration("0005_audit_mac", _audit_mac),
)


def applied_migrations(db: sqlite_utils.Database) -> list[str]:
    if "_migrations" not in db.table_names():
        return []
    return [str(r["name"]) for r in db.query("SELECT name FROM _migrations ORDER BY seq")]


def migrate(db: sqlite_utils.Database, on_applied: Callable[[str], Any] | None = None) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction with its record."""
    if "_migrations" not in db.table_names():
        with write_transaction(db):
            db.table("_migrations").create({"seq": int, "name": str, "applied_at": str}, pk="seq")
    done = set(applied_migrations(db))
    newly: list[str] = []
    for seq, migration in enumerate(MIGRATIONS, start=1):
        if migration.name in done:
            continue
        with write_transaction(db):
            migration.apply(db)
            db.table("_migrations").insert(
                {"seq": seq, "name": migration.name, "applied_at": to_timestamp(utc_now())}
            )
            if on_applied is not None:
                on_applied(migration.name)
        newly.append(migration.name)
    return newly


# --- the schema edgemed creates, and nothing else ----------------------------------------------

_SPACE = re.compile(r"\s+")


def _schema(db: sqlite_utils.Database) -> set[tuple[str, str, str, str]]:
    rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    return {
        (str(t), str(n), str(tbl), _SPACE.sub(" ", str(sql or "")).strip())
        for t, n, tbl, sql in rows
        if not str(n).startswith("sqlite_stat")
    }


def schema_differences(db: sqlite_utils.Database) -> tuple[list[str], list[str]]:
    """(objects edgemed did not create, objects edgemed created that are gone or changed), each
    as "type name", compared with a fresh database built by the same applied migrations."""
    applied = applied_migrations(db)
    known = [m for m in MIGRATIONS if m.name in applied]
    reference = sqlite_utils.Database(sqlcipher3.dbapi2.connect(":memory:"))
    try:
        with write_transaction(reference):
            reference.table("_migrations").create(
                {"seq": int, "name": str, "applied_at": str}, pk="seq"
            )
        if applied and [m.name for m in known] == applied:
            for migration in known:
                with write_transaction(reference):
                    migration.apply(reference)
        expected = _schema(reference)
    finally:
        reference.conn.close()
    with store_errors():
        found = _schema(db)
    extra = sorted(f"{t} {n}" for t, n, _tbl, _sql in found - expected)
    missing = sorted(f"{t} {n}" for t, n, _tbl, _sql in expected - found)
    return extra, missing


def create_private_file(path: Path) -> None:
    """An empty file only this account can read (0600): SQLCipher then gives its -wal and -shm
    the same mode."""
    with store_errors():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
