"""Encrypted backups: one file a nurse can copy to a USB stick, with its own key.

A backup is a fresh copy of the log (``sqlcipher_export``) encrypted with a NEW random data key,
and that key wrapped by the backup passphrase. Layout: the line ``EDGEMED-BACKUP/1``, an 8-byte
length, a JSON header (log id, wrapped key, size and sha256 of the database part), then the
encrypted database. Nothing in it is plaintext except the header, which holds no patient data.
Restoring writes a new log (never over an existing one) whose keyring has the restoring account.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgemed.i18n import _
from edgemed.store.attempts import AttemptPolicy
from edgemed.store.database import connect, write_transaction
from edgemed.store.errors import BadBackup, LogExists, WrongPassphrase, store_errors
from edgemed.store.keyring import (
    Argon2Params,
    Keyring,
    WrappedKey,
    atomic_write,
    fsync_dir,
    unwrap,
    wrap,
)
from edgemed.store.records import to_timestamp, utc_now

if TYPE_CHECKING:
    from edgemed.store.store import Store

MAGIC = b"EDGEMED-BACKUP/1\n"
BACKUP_USER = "backup"


@dataclass(frozen=True)
class BackupHeader:
    log_id: str
    created_at: str
    created_by: str
    key: WrappedKey
    db_size: int
    db_sha256: str

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "log_id": self.log_id,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "key": self.key.to_dict(),
            "db_size": self.db_size,
            "db_sha256": self.db_sha256,
        }
        return json.dumps(body, sort_keys=True).encode()


def _tmp_beside(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")


def write_backup(
    store: Store, dest: Path, passphrase: str, kdf: Argon2Params | None = None
) -> Path:
    """Write an encrypted backup of ``store`` to ``dest`` (a file; refused if it exists)."""
    if dest.exists():
        raise LogExists(
            _("{path} already exists: choose a new name for the backup.").format(path=dest)
        )
    backup_key = secrets.token_bytes(32)
    export = _tmp_beside(dest, ".db")
    try:
        with store_errors():
            dest.parent.mkdir(parents=True, exist_ok=True)
            store.db.execute(
                f"ATTACH DATABASE ? AS backup KEY \"x'{backup_key.hex()}'\"", [str(export)]
            )
            try:
                store.db.execute("SELECT sqlcipher_export('backup')").fetchall()
            finally:
                store.db.execute("DETACH DATABASE backup")
            payload = export.read_bytes()
        now = to_timestamp(utc_now())
        header = BackupHeader(
            log_id=store.keyring.log_id,
            created_at=now,
            created_by=store.user or "",
            key=wrap(
                backup_key,
                store.keyring.log_id,
                BACKUP_USER,
                passphrase,
                kdf or Argon2Params(),
                now,
            ),
            db_size=len(payload),
            db_sha256=hashlib.sha256(payload).hexdigest(),
        ).to_json()
        atomic_write(dest, MAGIC + struct.pack(">Q", len(header)) + header + payload)
    finally:
        export.unlink(missing_ok=True)
    with write_transaction(store.db):
        store.audit_event("backup", dest.name, {"db_sha256": hashlib.sha256(payload).hexdigest()})
    return dest


def read_header(source: Path) -> tuple[BackupHeader, bytes]:
    with store_errors():
        blob = source.read_bytes()
    try:
        if not blob.startswith(MAGIC):
            raise ValueError("magic")
        (length,) = struct.unpack(">Q", blob[len(MAGIC) : len(MAGIC) + 8])
        start = len(MAGIC) + 8
        raw = json.loads(blob[start : start + length])
        payload = blob[start + length :]
        header = BackupHeader(
            log_id=str(raw["log_id"]),
            created_at=str(raw["created_at"]),
            created_by=str(raw["created_by"]),
            key=WrappedKey.from_dict(raw["key"]),
            db_size=int(raw["db_size"]),
            db_sha256=str(raw["db_sha256"]),
        )
    except (ValueError, KeyError, TypeError, struct.error) as error:
        raise BadBackup(
            _("{path} is not an edgemed backup, or it is damaged.").format(path=source)
        ) from error
    if len(payload) != header.db_size or hashlib.sha256(payload).hexdigest() != header.db_sha256:
        raise BadBackup(_("The backup {path} is incomplete or damaged.").format(path=source))
    return header, payload


def restore_backup(
    source: Path,
    backup_passphrase: str,
    dest: Path,
    user: str,
    passphrase: str,
    *,
    kdf: Argon2Params | None = None,
    policy: AttemptPolicy | None = None,
) -> Store:
    """Restore ``source`` into a NEW log at ``dest`` that ``user`` unlocks with ``passphrase``."""
    from edgemed.store.store import Store

    if dest.exists() or Keyring.path_for(dest).exists():
        raise LogExists(
            _("There is already an encounter log at {path}.").format(path=dest),
            _("Move it away first, or restore to another place with --to."),
        )
    header, payload = read_header(source)
    backup_key = unwrap(header.key, header.log_id, backup_passphrase)
    if backup_key is None:
        raise WrongPassphrase(0, 0.0)
    staged = _tmp_beside(dest, ".db")
    try:
        with store_errors():
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(staged, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
        # Prove the payload opens with its key before anything is put in place.
        connect(staged, backup_key).conn.close()
        with store_errors():
            os.replace(staged, dest)
            fsync_dir(dest.parent)
    finally:
        staged.unlink(missing_ok=True)
    now = to_timestamp(utc_now())
    keyring = Keyring(
        header.log_id,
        {user: wrap(backup_key, header.log_id, user, passphrase, kdf or Argon2Params(), now)},
    )
    keyring.save(dest)
    store = Store.open(dest, policy=policy)
    store.unlock(user, passphrase)
    with write_transaction(store.db):
        store.audit_event(
            "restore",
            source.name,
            {"backup_created_at": header.created_at, "backup_sha256": header.db_sha256},
        )
    return store
