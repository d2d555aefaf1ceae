"""The one interface to the encrypted encounter log (see docs/store.md)."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

import sqlite_utils

from edgemed.errors import InputError
from edgemed.i18n import _
from edgemed.locations import data_dir
from edgemed.store import audit, encounters
from edgemed.store.attempts import AttemptPolicy, FailedAttempts
from edgemed.store.database import applied_migrations, connect, migrate, write_transaction
from edgemed.store.errors import (
    CorruptLog,
    LogExists,
    LogLocked,
    LogMissing,
    PlaintextRefused,
    UnknownEncounter,
    UnlockDelayed,
    WrongPassphrase,
    store_errors,
)
from edgemed.store.keyring import Argon2Params, Keyring, unwrap, wrap
from edgemed.store.records import (
    JSON,
    EncounterRecord,
    SavedEncounter,
    StoredEncounter,
    canonical_json,
    to_timestamp,
    utc_now,
)


def default_path() -> Path:
    return data_dir() / "encounters.db"


class Store:
    """The encrypted encounter log. ``Store.create`` or ``Store.open(...).unlock(...)``."""

    def __init__(self, path: Path, keyring: Keyring, policy: AttemptPolicy) -> None:
        self.path = path
        self.keyring = keyring
        self.policy = policy
        self.user: str | None = None
        self._db: sqlite_utils.Database | None = None
        self._data_key: bytes | None = None

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path | None,
        user: str,
        passphrase: str,
        *,
        kdf: Argon2Params | None = None,
        policy: AttemptPolicy | None = None,
    ) -> Store:
        """Create a new empty log with one account; returns it unlocked."""
        path = path or default_path()
        if path.exists() or Keyring.path_for(path).exists():
            raise LogExists(
                _("There is already an encounter log at {path}.").format(path=path),
                _("Open it with your passphrase, or choose another place."),
            )
        with store_errors():
            path.parent.mkdir(parents=True, exist_ok=True)
        data_key, log_id = secrets.token_bytes(32), uuid.uuid4().hex
        now = to_timestamp(utc_now())
        keyring = Keyring(
            log_id, {user: wrap(data_key, log_id, user, passphrase, kdf or Argon2Params(), now)}
        )
        store = cls(path, keyring, policy or AttemptPolicy())
        try:
            store._attach(data_key, user, new_log=True)
            keyring.save(path)
        except BaseException:
            store.close()
            for leftover in (
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ):
                leftover.unlink(missing_ok=True)
            raise
        return store

    @classmethod
    def open(cls, path: Path | None = None, *, policy: AttemptPolicy | None = None) -> Store:
        """The log, still locked: call :meth:`unlock` next."""
        path = path or default_path()
        if not path.exists():
            raise LogMissing(
                _("There is no encounter log at {path}.").format(path=path),
                _("Create one with `edgemed logs init`, or restore a backup."),
            )
        if not Keyring.path_for(path).exists():
            raise CorruptLog(
                _("its keyring file {name} is missing").format(name=Keyring.path_for(path).name)
            )
        return cls(path, Keyring.load(path), policy or AttemptPolicy())

    def unlock(self, user: str, passphrase: str, *, wait: bool = True) -> None:
        """Unlock with one account's passphrase. A wrong one changes nothing in the log; it is
        counted, and after a few each next try must wait longer (``wait=False`` raises
        :class:`UnlockDelayed` instead of sleeping)."""
        self.close()  # unlocking again (another nurse) starts from a locked log
        attempts = FailedAttempts.load(self.path)
        pause = attempts.wait_needed(self.policy, time.time())
        if pause > 0:
            if not wait:
                raise UnlockDelayed(pause)
            time.sleep(pause)
        entry = self.keyring.entries.get(user)
        if entry is None:
            # Same work as a real try, so a guesser cannot tell which accounts exist.
            costs = [e.kdf for e in self.keyring.entries.values()] or [Argon2Params()]
            costs[0].derive(passphrase, b"\0" * 16)
            data_key = None
        else:
            data_key = unwrap(entry, self.keyring.log_id, passphrase)
        if data_key is None:
            failed = attempts.record_failure(self.path, time.time())
            raise WrongPassphrase(failed.count, self.policy.delay_after(failed.count))
        self._attach(data_key, user, new_log=False, failed_before=attempts.count)
        FailedAttempts.reset(self.path)

    def _attach(self, data_key: bytes, user: str, *, new_log: bool, failed_before: int = 0) -> None:
        db = connect(self.path, data_key)
        self._db, self._data_key, self.user = db, data_key, user
        log_id = self.keyring.log_id
        try:
            if not new_log:
                # The canary comes before anything is written: the key must open THIS log.
                with store_errors():
                    stored = db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()
                if stored is None or stored[0] != log_id:
                    raise CorruptLog(_("the keyring belongs to another log"))
            applied = migrate(db)
            if new_log:
                with write_transaction(db):
                    db.table("meta").insert_all(
                        [
                            {"key": "log_id", "value": log_id},
                            {"key": "created_at", "value": to_timestamp(utc_now())},
                        ]
                    )
                    audit.append(db, log_id, user, "create", detail={"migrations": applied})
                    audit.append(db, log_id, user, "add-user", user)
                return
            with write_transaction(db):
                if applied:
                    audit.append(db, log_id, user, "migrate", detail={"migrations": applied})
                audit.append(
                    db, log_id, user, "unlock", detail={"failed_attempts_before": failed_before}
                )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        db, self._db, self._data_key, self.user = self._db, None, None, None
        if db is not None:
            with store_errors():
                db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db(self) -> sqlite_utils.Database:
        if self._db is None:
            raise LogLocked()
        return self._db

    @property
    def data_key(self) -> bytes:
        if self._data_key is None:
            raise LogLocked()
        return self._data_key

    def audit_event(
        self, action: str, subject: str = "", detail: dict[str, Any] | None = None
    ) -> None:
        """Append an audit entry; call inside the write transaction of the change it records."""
        audit.append(self.db, self.keyring.log_id, self.user or "", action, subject, detail)

    # --- accounts --------------------------------------------------------------------------

    @property
    def users(self) -> list[str]:
        return sorted(self.keyring.entries)

    def add_user(self, user: str, passphrase: str, *, kdf: Argon2Params | None = None) -> None:
        """Give another nurse their own passphrase for this log (needs an unlocked log)."""
        if user in self.keyring.entries:
            raise LogExists(_("There is already an account named {user}.").format(user=user))
        entry = wrap(
            self.data_key,
            self.keyring.log_id,
            user,
            passphrase,
            kdf or Argon2Params(),
            to_timestamp(utc_now()),
        )
        self._rewrap({**self.keyring.entries, user: entry}, "add-user", user)

    def change_passphrase(
        self, user: str, old: str, new: str, *, kdf: Argon2Params | None = None
    ) -> None:
        """Rewrap the data key for ``user``: the database is not re-encrypted."""
        entry = self.keyring.entry(user)
        data_key = unwrap(entry, self.keyring.log_id, old)
        if data_key is None or data_key != self.data_key:
            raise WrongPassphrase(0, 0.0)
        fresh = wrap(
            data_key, self.keyring.log_id, user, new, kdf or entry.kdf, to_timestamp(utc_now())
        )
        self._rewrap({**self.keyring.entries, user: fresh}, "passwd", user)

    def _rewrap(self, entries: dict[str, Any], action: str, subject: str) -> None:
        # The keyring is replaced atomically first; the audit entry follows. A crash between the
        # two leaves a working keyring and at worst one unaudited passphrase change.
        Keyring(self.keyring.log_id, entries).save(self.path)
        self.keyring = Keyring(self.keyring.log_id, entries)
        with write_transaction(self.db):
            self.audit_event(action, subject)

    # --- encounters ------------------------------------------------------------------------

    def save_encounter(self, record: EncounterRecord) -> SavedEncounter:
        """Save a closed encounter (version 1). Durable (fsynced) when this returns."""
        return self._insert(secrets.token_hex(5), 1, record, "", "save")

    def correct_encounter(
        self, encounter_id: str, record: EncounterRecord, *, reason: str
    ) -> SavedEncounter:
        """Save a correction as a new version; earlier versions stay as they were."""
        current = self.get(encounter_id)
        return self._insert(current.encounter_id, current.version + 1, record, reason, "correct")

    def _insert(
        self, encounter_id: str, version: int, record: EncounterRecord, reason: str, action: str
    ) -> SavedEncounter:
        record = record.with_user(self.user or "")
        row = encounters.build_row(encounter_id, version, record, reason, self.user or "")
        detail = {"encounter_id": encounter_id, "version": version, "reason": reason}
        detail.update(record_sha256=row["record_sha256"], category=row["category"])
        with write_transaction(self.db) as db:
            encounters.insert(db, row)
            self.audit_event(action, encounter_id, detail)
        return SavedEncounter(encounter_id, version, row["record_sha256"])

    def history(self, encounter_id: str) -> list[StoredEncounter]:
        """Every version of one encounter (an unambiguous id prefix is enough), oldest first."""
        return encounters.versions(self.db, encounters.resolve_id(self.db, encounter_id))

    def get(self, encounter_id: str, version: int | None = None) -> StoredEncounter:
        """The latest version of an encounter, or the given one."""
        found = self.history(encounter_id)
        if version is None:
            return found[-1]
        for one in found:
            if one.version == version:
                return one
        raise UnknownEncounter(
            _("Encounter {id} has no version {version}.").format(id=encounter_id, version=version)
        )

    def list_encounters(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        search: str | None = None,
        limit: int | None = None,
        order: str = "newest",
    ) -> list[StoredEncounter]:
        """Latest versions by arrival time and full-text search (name, number, complaint).

        ``order``: newest, oldest, or urgency (shortest target time first)."""
        return encounters.latest(self.db, since, until, search, limit, order)

    def queue(self, day: date | None = None) -> list[StoredEncounter]:
        """The clinic day's patients (local time), most urgent first."""
        day = day or datetime.now().astimezone().date()
        start = datetime.combine(day, datetime.min.time()).astimezone()
        return self.list_encounters(since=start, until=start + timedelta(days=1), order="urgency")

    # --- drafts: an unfinished encounter survives a crash -----------------------------------

    def save_draft(self, draft_id: str, body: JSON) -> None:
        """Keep an unfinished encounter (encrypted, fsynced). Call after every field."""
        with write_transaction(self.db) as db:
            db.execute(
                "INSERT OR REPLACE INTO drafts (draft_id, user, updated_at, body_json) "
                "VALUES (?, ?, ?, ?)",
                [draft_id, self.user, to_timestamp(utc_now()), canonical_json(body)],
            )

    def load_draft(self, draft_id: str) -> JSON | None:
        with store_errors():
            row = self.db.execute(
                "SELECT body_json FROM drafts WHERE draft_id = ?", [draft_id]
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def list_drafts(self) -> list[str]:
        with store_errors():
            return [
                r[0] for r in self.db.execute("SELECT draft_id FROM drafts ORDER BY updated_at")
            ]

    def discard_draft(self, draft_id: str) -> None:
        with write_transaction(self.db) as db:
            db.execute("DELETE FROM drafts WHERE draft_id = ?", [draft_id])

    # --- integrity, retention, migrations ----------------------------------------------------

    def verify_audit(self) -> audit.AuditReport:
        with store_errors():
            return audit.verify(self.db, self.keyring.log_id)

    def audit_entries(self, limit: int = 50) -> list[dict[str, Any]]:
        with store_errors():
            return list(
                self.db.query(
                    "SELECT seq, at, user, action, subject FROM audit ORDER BY seq DESC LIMIT ?",
                    [limit],
                )
            )

    def migrations(self) -> list[str]:
        with store_errors():
            return applied_migrations(self.db)

    def purge(self, older_than_days: int) -> int:
        """Delete encounters (all versions) that arrived more than N days ago; audited."""
        if older_than_days < 1:
            raise InputError(_("Keep at least one day: --older-than must be 1 or more."))
        cutoff = to_timestamp(datetime.now(timezone.utc) - timedelta(days=older_than_days))
        with write_transaction(self.db) as db:
            ids = encounters.purge_before(db, cutoff)
            detail = {"older_than_days": older_than_days, "cutoff": cutoff, "encounters": ids}
            self.audit_event("purge", "", detail)
        return len(ids)

    # --- leaving the log: backups and exports -------------------------------------------------

    def backup(self, dest: Path, passphrase: str, *, kdf: Argon2Params | None = None) -> Path:
        """Write an encrypted backup file with its own key, wrapped by ``passphrase``."""
        from edgemed.store.backup import write_backup

        return write_backup(self, dest, passphrase, kdf)

    @classmethod
    def restore(
        cls,
        source: Path,
        backup_passphrase: str,
        *,
        dest: Path | None = None,
        user: str,
        passphrase: str,
        kdf: Argon2Params | None = None,
        policy: AttemptPolicy | None = None,
    ) -> Store:
        """Restore a backup into a NEW log (never over one); returns it unlocked for ``user``."""
        from edgemed.store.backup import restore_backup

        return restore_backup(
            source,
            backup_passphrase,
            dest or default_path(),
            user,
            passphrase,
            kdf=kdf,
            policy=policy,
        )

    def _exported(self, fmt: str, plaintext: bool, since: datetime | None) -> list[StoredEncounter]:
        if not plaintext:
            raise PlaintextRefused(
                _("An export is NOT encrypted: anyone with the file can read every patient in it."),
                _("Choose it explicitly (--plaintext), or make an encrypted backup instead."),
            )
        found = self.list_encounters(since=since, order="oldest")
        with write_transaction(self.db):
            self.audit_event("export", fmt, {"encounters": len(found), "plaintext": True})
        return found

    def export_fhir(self, *, plaintext: bool = False, since: datetime | None = None) -> JSON:
        """A FHIR R4 Bundle (JSON-ready dict) of the latest version of each encounter."""
        from edgemed.store.fhir import bundle

        return bundle(
            self._exported("fhir", plaintext, since),
            utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def export_csv(
        self, out: TextIO, *, plaintext: bool = False, since: datetime | None = None
    ) -> int:
        """Write CSV rows to ``out``; returns how many encounters were written."""
        from edgemed.store.csv_export import write_csv

        return write_csv(self._exported("csv", plaintext, since), out)
