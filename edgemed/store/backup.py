"""Encrypted backups: one file a nurse can copy to a USB stick, with its own key.

This module sits above :class:`~edgemed.store.store.Store` (the import-linter contract
``store-layers`` keeps it so): it takes an unlocked store to back up, and opens the store it
restores; the store knows nothing of backups. The CLI calls :func:`write_backup` and
:func:`restore_backup`.

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
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgemed.files import fsync_dir, utc_now
from edgemed.i18n import _
from edgemed.locations import encounter_log
from edgemed.store import audit
from edgemed.store.attempts import AttemptPolicy
from edgemed.store.database import connect, create_private_file, schema_differences
from edgemed.store.errors import (
    BadBackup,
    DiskError,
    DiskFull,
    LogExists,
    StoreError,
    WrongPassphrase,
    store_errors,
)
from edgemed.store.keyring import (
    FILE_MODE,
    Argon2Params,
    ChainHead,
    Keyring,
    WrappedKey,
    log_lock,
    unwrap,
    wrap,
)
from edgemed.store.outputs import check_output, write_output
from edgemed.store.passphrase import check_passphrase
from edgemed.store.paths import log_exists, log_files, make_private_dir
from edgemed.store.records import to_timestamp
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
    store: Store,
    dest: Path,
    passphrase: str,
    *,
    kdf: Argon2Params | None = None,
    force: bool = False,
) -> Path:
    """Write an encrypted backup of ``store`` to ``dest`` (refused if it exists, unless
    ``force``; never one of the log's own files or inside the data folder)."""
    check_passphrase(passphrase)
    target = check_output(dest, database=store.path, force=force)
    backup_key = secrets.token_bytes(32)
    export = _tmp_beside(target, ".db")
    try:
        try:
            create_private_file(export)
            with store_errors():
                store.db.execute(
                    f"ATTACH DATABASE ? AS backup KEY \"x'{backup_key.hex()}'\"", [str(export)]
                )
                try:
                    store.db.execute("SELECT sqlcipher_export('backup')").fetchall()
                finally:
                    store.db.execute("DETACH DATABASE backup")
                payload = export.read_bytes()
        except DiskFull as full:
            raise DiskFull.for_file(dest) from full
        except DiskError as error:
            raise DiskError.for_file(dest, str(error.__cause__ or error)) from error
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
        blob = MAGIC + struct.pack(">Q", len(header)) + header + payload
        write_output(dest, blob, database=store.path, force=force)
    finally:
        export.unlink(missing_ok=True)
    # The backup file is complete and checked by its own header; should its audit entry fail
    # (full disk, read-only log), the backup did not: no error is raised.
    with suppress(StoreError):
        store.record("backup", dest.name, {"db_sha256": hashlib.sha256(payload).hexdigest()})
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
        raise BadBackup.damaged(source)
    return header, payload


def restore_backup(
    source: Path,
    backup_passphrase: str,
    *,
    dest: Path | None = None,
    user: str,
    passphrase: str,
    kdf: Argon2Params | None = None,
    policy: AttemptPolicy | None = None,
) -> Store:
    """Restore ``source`` into a NEW log at ``dest`` (default: the usual log's place, which must
    be free) that ``user`` unlocks with ``passphrase``; returns it unlocked.

    Refused when the backup's database holds anything edgemed did not create (a trigger, view,
    table or index brought along could hide patients), and when the restored log does not verify
    (the restored files are then removed)."""
    dest = dest or encounter_log()
    check_passphrase(passphrase)
    if log_exists(dest):
        raise LogExists.at(dest, _("Move it away first, or restore to another place with --to."))
    header, payload = read_header(source)
    backup_key = unwrap(header.key, header.log_id, backup_passphrase)
    if backup_key is None:
        raise WrongPassphrase(0, 0.0)
    make_private_dir(dest.parent)
    staged = _tmp_beside(dest, ".db")
    try:
        with store_errors():
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with open(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
        # Prove the payload opens with its key, holds only what edgemed creates, and has this
        # backup's log id, before anything is put in place.
        db = connect(staged, backup_key)
        try:
            with store_errors():
                found = db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()
                extra, missing = schema_differences(db)
                last = audit.last_entry(db)
        finally:
            db.conn.close()
        if found is None or found[0] != header.log_id:
            raise BadBackup.damaged(source)
        if extra or missing:
            raise BadBackup(
                _(
                    "The backup {path} holds database objects edgemed did not create ({names}): "
                    "it was tampered with and is refused."
                ).format(path=source, names=", ".join(extra + missing))
            )
        with store_errors():
            os.replace(staged, dest)
            fsync_dir(dest.parent)
    finally:
        staged.unlink(missing_ok=True)
    now = to_timestamp(utc_now())
    keyring = Keyring(
        header.log_id,
        {user: wrap(backup_key, header.log_id, user, passphrase, kdf or Argon2Params(), now)},
        ChainHead.make(backup_key, header.log_id, *last) if last is not None else None,
    )
    with log_lock(dest):
        keyring.save(dest)
    try:
        store = Store.open(dest, policy=policy)
        store.unlock(user, passphrase)
        report = store.verify_audit()
        if not report.ok:
            store.close()
            raise BadBackup(
                _("The backup {path} does not verify, so it was not restored: {problems}").format(
                    path=source, problems="; ".join(p.message for p in report.problems[:5])
                )
            )
        store.record(
            "restore",
            source.name,
            {"backup_created_at": header.created_at, "backup_sha256": header.db_sha256},
        )
    except BaseException:
        for leftover in log_files(dest):
            leftover.unlink(missing_ok=True)
        raise
    return store
