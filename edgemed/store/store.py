"""The one interface to the encrypted encounter log (see docs/store.md)."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

import sqlite_utils

from edgemed.errors import InputError
from edgemed.files import utc_now
from edgemed.i18n import _
from edgemed.locations import encounter_log
from edgemed.store import audit, encounters
from edgemed.store.attempts import AttemptPolicy, FailedAttempts
from edgemed.store.database import (
    applied_migrations,
    connect,
    create_private_file,
    migrate,
    schema_differences,
    write_transaction,
)
from edgemed.store.errors import (
    CorruptLog,
    DiskError,
    DiskFull,
    LogExists,
    LogLocked,
    LogMissing,
    LogReadOnly,
    PlaintextRefused,
    StoreError,
    UnknownEncounter,
    UnlockDelayed,
    WrongPassphrase,
    store_errors,
)
from edgemed.store.keyring import (
    Argon2Params,
    ChainHead,
    Keyring,
    lock_path,
    log_lock,
    unwrap,
    wrap,
)
from edgemed.store.passphrase import check_passphrase
from edgemed.store.paths import log_exists, log_files, make_private_dir, tighten_permissions
from edgemed.store.records import (
    JSON,
    EncounterRecord,
    SaveReceipt,
    StoredEncounter,
    canonical_json,
    to_timestamp,
)

HEAD_FLUSH_S = 1.0


_SQLITE_PLAIN_HEADER = b"SQLite format 3\0"


def _refuse_foreign(path: Path) -> None:
    """A 0-byte or foreign file is refused before SQLCipher could turn it into a new database."""
    with store_errors():
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(16)
    wal = path.with_name(path.name + "-wal")
    if size == 0 and not (wal.exists() and wal.stat().st_size > 0):
        raise CorruptLog(f"{path.name} is empty (0 bytes): it is not an edgemed log")
    if head == _SQLITE_PLAIN_HEADER:
        raise CorruptLog(f"{path.name} is an unencrypted SQLite file, not an edgemed log")
    if size % 512:
        raise CorruptLog(f"{path.name} is not an encrypted database (size {size} bytes)")


class Store:
    """The encrypted encounter log. ``Store.create`` or ``Store.open(...).unlock(...)``."""

    def __init__(self, path: Path, keyring: Keyring, policy: AttemptPolicy) -> None:
        self.path = path
        self.keyring = keyring
        self.policy = policy
        self.user: str | None = None
        self._db: sqlite_utils.Database | None = None
        self._data_key: bytes | None = None
        # Why nothing may be written (a safety check failed at unlock), or None.
        self.read_only_reason: str | None = None
        # What the unlock check found (rollback, truncation ...): shown, never repaired.
        self.unlock_problems: list[audit.AuditProblem] = []
        # An unlock entry that a full disk kept out of the audit log: written with the next change.
        self._pending_unlock: dict[str, Any] | None = None
        # Opened for reading on a full disk (SQLite could not create its -shm): saves say so.
        self._disk_full = False

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
        path = path or encounter_log()
        check_passphrase(passphrase)
        if log_exists(path):
            raise LogExists.at(path, _("Open it with your passphrase, or choose another place."))
        make_private_dir(path.parent)
        create_private_file(path)
        data_key, log_id = secrets.token_bytes(32), uuid.uuid4().hex
        now = to_timestamp(utc_now())
        keyring = Keyring(
            log_id, {user: wrap(data_key, log_id, user, passphrase, kdf or Argon2Params(), now)}
        )
        store = cls(path, keyring, policy or AttemptPolicy())
        try:
            store._attach(data_key, user, new_log=True)
            last = audit.last_entry(store.db)
            if last is not None:
                keyring.head = ChainHead.make(data_key, log_id, *last)
            with log_lock(path):
                keyring.save(path)
        except BaseException:
            store.close()
            for leftover in [*log_files(path)[:4], lock_path(path)]:
                leftover.unlink(missing_ok=True)
            raise
        return store

    @classmethod
    def open(cls, path: Path | None = None, *, policy: AttemptPolicy | None = None) -> Store:
        """The log, still locked: call :meth:`unlock` next."""
        path = path or encounter_log()
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

    def unlock(
        self, user: str, passphrase: str, *, wait: bool = True, read_only: bool = False
    ) -> None:
        """Unlock with one account's passphrase. A wrong one changes nothing in the log; it is
        counted, and after a few each next try must wait longer (``wait=False`` raises
        :class:`UnlockDelayed` instead of sleeping). Check, Argon2 and count run under the log's
        file lock, so parallel guesses are each counted and each wait their turn.

        Before anything is written, the chain head is checked against the log's own record and
        the keyring's: a rollback or cut is reported in ``unlock_problems`` and the log is opened
        for reading only (``read_only_reason``); it is never repaired. ``read_only=True`` (what
        ``logs verify`` uses) writes nothing at all."""
        self.close()  # unlocking again (another nurse) starts from a locked log
        _refuse_foreign(self.path)
        while True:
            with log_lock(self.path):
                self.keyring = Keyring.load(self.path)  # another process may have changed it
                attempts = FailedAttempts.load(self.path, self.policy, time.time())
                pause = attempts.wait_needed(self.policy, time.time())
                if pause <= 0:
                    data_key = self._try_passphrase(user, passphrase)
                    if data_key is None:
                        failed = attempts.record_failure(self.path, time.time())
                        raise WrongPassphrase(failed.count, self.policy.delay_after(failed.count))
                    attempts.reset(self.path)
                    break
            if not wait:
                damaged = FailedAttempts.path_for(self.path) if attempts.damaged else None
                raise UnlockDelayed(pause, str(damaged) if damaged else None)
            time.sleep(pause)
        self._attach(data_key, user, new_log=False, failed_before=attempts.count, read=read_only)

    def _try_passphrase(self, user: str, passphrase: str) -> bytes | None:
        entry = self.keyring.entries.get(user)
        if entry is None:
            # Same work as a real try, so a guesser cannot tell which accounts exist.
            costs = [e.kdf for e in self.keyring.entries.values()] or [Argon2Params()]
            costs[0].derive(passphrase, b"\0" * 16)
            return None
        return unwrap(entry, self.keyring.log_id, passphrase)

    def _attach(
        self,
        data_key: bytes,
        user: str,
        *,
        new_log: bool,
        failed_before: int = 0,
        read: bool = False,
    ) -> None:
        try:
            db = connect(self.path, data_key)
        except (DiskFull, DiskError):
            wal = self.path.with_name(self.path.name + "-wal")
            if new_log or (wal.exists() and wal.stat().st_size > 0):
                raise
            # A full disk: SQLite cannot create its -shm index, but everything is in the main
            # file, so it is opened for reading only. Saving then says the disk is full.
            db = connect(self.path, data_key, immutable=True)
            self._disk_full = True
        self._db, self._data_key, self.user = db, data_key, user
        log_id = self.keyring.log_id
        try:
            if not new_log:
                # The canary comes before anything is written: the key must open THIS log.
                with store_errors():
                    stored = db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()
                if stored is None or stored[0] != log_id:
                    raise CorruptLog(_("the keyring belongs to another log"))
                tighten_permissions(self.path)
                try:
                    with store_errors():
                        self.unlock_problems = self._head_problems()
                except CorruptLog as damaged:
                    message = damaged.hint or damaged.message
                    self.unlock_problems = [audit.AuditProblem(0, "damaged-page", message)]
                if self.unlock_problems:
                    self.read_only_reason = self.unlock_problems[0].message
                    return
                if read:
                    self.read_only_reason = _("opened to be checked, not written")
                    return
                if self._disk_full:
                    self._pending_unlock = {
                        "failed_attempts_before": failed_before,
                        "deferred": True,
                    }
                    return
            try:
                applied = migrate(db)
            except DiskFull as full:
                raise DiskFull.nothing_changed() from full
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
            unlock_detail: dict[str, Any] = {"failed_attempts_before": failed_before}
            try:
                with self._write(during_unlock=True):
                    if applied:
                        self.audit_event("migrate", detail={"migrations": applied})
                    self.audit_event("unlock", detail=unlock_detail)
            except (DiskFull, DiskError):
                # Reading must work on a full disk: the unlock entry waits for the next change
                # (which will itself fail while the disk stays full, with the true message).
                self._pending_unlock = {**unlock_detail, "deferred": True}
        except BaseException:
            self.close()
            raise

    def _head_problems(self) -> list[audit.AuditProblem]:
        """Compare the chain's last entry with the head kept in the log and in the keyring.
        O(1): runs at every unlock, before anything is written."""
        db, log_id, problems = self.db, self.keyring.log_id, []
        last = audit.last_entry(db)
        last_seq, last_hash = last if last is not None else (0, audit.genesis_hash(log_id))
        meta = db.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
        if meta is not None:
            head_seq_text, _sep, head_hash = str(meta[0]).partition(":")
            head_seq = int(head_seq_text) if head_seq_text.isdigit() else -1
            if head_seq > last_seq:
                problems.append(
                    audit.AuditProblem(
                        last_seq + 1,
                        "truncated",
                        _("Audit entries #{first} to #{last} were cut from the end.").format(
                            first=last_seq + 1, last=head_seq
                        ),
                    )
                )
            elif head_seq != last_seq or head_hash != last_hash:
                problems.append(
                    audit.AuditProblem(
                        last_seq,
                        "edited",
                        _("The last audit entry (#{seq}) was replaced.").format(seq=last_seq),
                    )
                )
        kept = self.keyring.head
        wanted = db.execute("SELECT value FROM meta WHERE key = 'keyring_head'").fetchone()
        if kept is None:
            if wanted is not None and last_seq > 0:
                problems.append(
                    audit.AuditProblem(
                        0,
                        "keyring-head",
                        _(
                            "The keyring no longer records the audit chain's head, so a rollback "
                            "cannot be ruled out (the keyring was replaced by an older one?)."
                        ),
                    )
                )
            return problems
        if not kept.authentic(self.data_key, log_id):
            problems.append(
                audit.AuditProblem(
                    0,
                    "keyring-head",
                    _("The chain head kept in the keyring is not authentic (it was edited)."),
                )
            )
        elif kept.seq > last_seq:
            if problems and problems[0].kind == "truncated":
                return problems  # the same cut, already named by the log's own head
            problems.append(
                audit.AuditProblem(
                    last_seq + 1,
                    "rolled-back",
                    _(
                        "The log is older than its keyring: it ends at audit entry #{last}, but "
                        "#{kept} was written. An older copy of the file was put back, or entries "
                        "were cut: #{first} to #{kept} are missing."
                    ).format(last=last_seq, kept=kept.seq, first=last_seq + 1),
                )
            )
        else:
            row = db.execute("SELECT hash FROM audit WHERE seq = ?", [kept.seq]).fetchone()
            if kept.seq > 0 and (row is None or str(row[0]) != kept.hash):
                problems.append(
                    audit.AuditProblem(
                        kept.seq,
                        "rolled-back",
                        _(
                            "Audit entry #{seq} is not the one that was written: an older copy "
                            "of the log was put back and written to since."
                        ).format(seq=kept.seq),
                    )
                )
        return problems

    @contextmanager
    def _write(self, *, during_unlock: bool = False) -> Iterator[sqlite_utils.Database]:
        """One audited change: refused on a read-only log; then the head goes to the keyring."""
        if self.read_only_reason is not None:
            raise LogReadOnly(self.read_only_reason)
        if self._disk_full:
            raise DiskFull()
        with write_transaction(self.db) as db:
            if self._pending_unlock is not None and not during_unlock:
                self.audit_event("unlock", detail=self._pending_unlock)
            yield db
        self._pending_unlock = None
        self._record_head()

    def _record_head(self, *, force: bool = False, flush: bool = False) -> None:
        """Keep the chain head in the keyring too (only ever forward, unless ``force``). The
        change is already committed: a failure here must not say otherwise, so it is only
        remembered (the keyring's head then lags, which is allowed).

        Replacing the keyring costs two fsyncs and a rename (it tripled the time of a save), so
        a burst of saves writes it at most once per ``HEAD_FLUSH_S``; ``close`` (every lock)
        writes what is left. The limit: after a crash inside that second, a rollback of the
        last second's entries is not caught."""
        now = time.monotonic()
        if not (force or flush) and now - self._head_flushed_at < HEAD_FLUSH_S:
            self._head_dirty = True
            return
        self._head_dirty = False
        self._head_flushed_at = now
        last = audit.last_entry(self.db)
        if last is None:
            return
        log_id = self.keyring.log_id
        try:
            with log_lock(self.path):
                current = Keyring.load(self.path)
                if current.log_id != log_id:
                    return
                head = current.head
                if (
                    not force
                    and head is not None
                    and head.seq >= last[0]
                    and head.authentic(self.data_key, log_id)
                ):
                    self.keyring = current
                    return
                current.head = ChainHead.make(self.data_key, log_id, *last)
                current.save(self.path)
                self.keyring = current
        except StoreError:
            self.head_lag = True

    head_lag = False
    _head_dirty = False
    _head_flushed_at = -HEAD_FLUSH_S

    def close(self) -> None:
        if self._db is not None and self._head_dirty and self._data_key is not None:
            with suppress(StoreError):
                self._record_head(flush=True)
        db, self._db, self._data_key, self.user = self._db, None, None, None
        self.read_only_reason, self.unlock_problems, self._pending_unlock = None, [], None
        self._disk_full = False
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

    def record(self, action: str, subject: str = "", detail: dict[str, Any] | None = None) -> None:
        """An audited event that changes nothing else in the log (export, backup, restore)."""
        with self._write():
            self.audit_event(action, subject, detail)

    # --- accounts --------------------------------------------------------------------------

    @property
    def users(self) -> list[str]:
        return sorted(self.keyring.entries)

    def add_user(self, user: str, passphrase: str, *, kdf: Argon2Params | None = None) -> None:
        """Give another nurse their own passphrase for this log (needs an unlocked log)."""
        if user in self.keyring.entries:
            raise LogExists(_("There is already an account named {user}.").format(user=user))
        check_passphrase(passphrase)
        entry = wrap(
            self.data_key,
            self.keyring.log_id,
            user,
            passphrase,
            kdf or Argon2Params(),
            to_timestamp(utc_now()),
        )
        self._rewrap(user, entry, "add-user")

    def change_passphrase(
        self, user: str, old: str, new: str, *, kdf: Argon2Params | None = None
    ) -> None:
        """Rewrap the data key for ``user``: the database is not re-encrypted."""
        entry = self.keyring.entry(user)
        data_key = unwrap(entry, self.keyring.log_id, old)
        if data_key is None or data_key != self.data_key:
            raise WrongPassphrase(0, 0.0)
        check_passphrase(new)
        fresh = wrap(
            data_key, self.keyring.log_id, user, new, kdf or entry.kdf, to_timestamp(utc_now())
        )
        self._rewrap(user, fresh, "passwd")

    def _rewrap(self, user: str, entry: Any, action: str) -> None:
        # The keyring is replaced atomically first; the audit entry follows. A crash between the
        # two leaves a working keyring and at worst one unaudited passphrase change. It is read
        # again under the lock, so another process's change (or head) is never overwritten.
        if self.read_only_reason is not None:
            raise LogReadOnly(self.read_only_reason)
        with log_lock(self.path):
            current = Keyring.load(self.path)
            if current.log_id != self.keyring.log_id:
                raise CorruptLog(_("the keyring belongs to another log"))
            current.entries = {**current.entries, user: entry}
            current.save(self.path)
            self.keyring = current
        with self._write():
            self.audit_event(action, user)

    # --- encounters ------------------------------------------------------------------------

    def save_encounter(self, record: EncounterRecord) -> SaveReceipt:
        """Save a closed encounter (version 1). Durable (fsynced) when this returns."""
        return self._insert(secrets.token_hex(5), 1, record, "", "save")

    def correct_encounter(
        self, encounter_id: str, record: EncounterRecord, *, reason: str
    ) -> SaveReceipt:
        """Save a correction as a new version; earlier versions stay as they were."""
        current = self.get(encounter_id)
        return self._insert(current.encounter_id, current.version + 1, record, reason, "correct")

    def _insert(
        self, encounter_id: str, version: int, record: EncounterRecord, reason: str, action: str
    ) -> SaveReceipt:
        record = record.with_user(self.user or "")
        row = encounters.build_row(encounter_id, version, record, reason, self.user or "")
        detail = {"encounter_id": encounter_id, "version": version, "reason": reason}
        detail.update(record_sha256=row["record_sha256"], category=row["category"])
        detail.update(row_sha256=encounters.row_digest(row))
        with self._write() as db:
            encounters.insert(db, row)
            self.audit_event(action, encounter_id, detail)
        return SaveReceipt(encounter_id, version, row["record_sha256"])

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
        if self.read_only_reason is not None:
            raise LogReadOnly(self.read_only_reason)
        if self._disk_full:
            raise DiskFull()
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
        if self.read_only_reason is not None:
            raise LogReadOnly(self.read_only_reason)
        with write_transaction(self.db) as db:
            db.execute("DELETE FROM drafts WHERE draft_id = ?", [draft_id])

    # --- integrity, retention, migrations ----------------------------------------------------

    def verify_audit(self) -> audit.AuditReport:
        """Everything that can be checked: every page's HMAC (``cipher_integrity_check``), the
        schema (nothing edgemed did not create), the audit chain and its MACs, the chain head in
        the log and in the keyring (rollback, truncation), every encounter column against what
        was saved, and the search index against the encounters. Writes nothing."""
        problems: list[audit.AuditProblem] = []
        with store_errors():
            damaged = [str(r[0]) for r in self.db.execute("PRAGMA cipher_integrity_check")]
        for line in damaged:
            problems.append(audit.AuditProblem(0, "damaged-page", line))
        try:
            with store_errors():
                extra, missing = schema_differences(self.db)
                report = audit.verify(self.db, self.keyring.log_id)
                heads = self._head_problems()
        except CorruptLog as error:
            report = audit.AuditReport()
            problems.append(audit.AuditProblem(0, "damaged-page", error.hint or error.message))
            report.problems[:0] = problems
            return report
        for name in extra:
            problems.append(
                audit.AuditProblem(
                    0,
                    "schema",
                    _("The database holds {name}, which edgemed did not create.").format(name=name),
                )
            )
        for name in missing:
            problems.append(
                audit.AuditProblem(
                    0, "schema", _("The database has lost or changed {name}.").format(name=name)
                )
            )
        cut = {p.seq for p in report.problems if p.kind == "truncated"}
        for problem in heads:
            # The log's own head was already judged by the chain check; a cut it named is not
            # named twice.
            if problem.kind in ("truncated", "edited") or (
                problem.kind == "rolled-back" and problem.seq in cut
            ):
                continue
            problems.append(problem)
        try:
            with store_errors():
                self.db.execute(
                    "INSERT INTO encounters_fts(encounters_fts, rank) VALUES ('integrity-check', 1)"
                )
        except CorruptLog:
            problems.append(
                audit.AuditProblem(
                    0,
                    "search-index",
                    _("The search index does not match the encounters (it was edited)."),
                )
            )
        report.problems.extend(problems)
        return report

    def acknowledge(self, note: str) -> audit.AuditReport:
        """Record what verification finds in the audit log (with ``note``: who looked, why) and
        allow saving again. The problems stay visible to every later verify."""
        report = self.verify_audit()
        found = [[p.kind, p.seq, p.message] for p in report.problems]
        kept = self.keyring.head
        self.read_only_reason = None
        detail = {
            "note": note,
            "problems": found,
            "keyring_head": [kept.seq, kept.hash] if kept else None,
        }
        with write_transaction(self.db):
            self.audit_event("acknowledge", "", detail)
        self._record_head(force=True)
        self.unlock_problems = []
        return report

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
        with self._write() as db:
            ids = encounters.purge_before(db, cutoff)
            detail = {"older_than_days": older_than_days, "cutoff": cutoff, "encounters": ids}
            self.audit_event("purge", "", detail)
        return len(ids)

    # --- leaving the log: exports (backups and restores are edgemed.store.backup, above) -------

    def _exported(self, fmt: str, plaintext: bool, since: datetime | None) -> list[StoredEncounter]:
        if not plaintext:
            raise PlaintextRefused(
                _("An export is NOT encrypted: anyone with the file can read every patient in it."),
                _("Choose it explicitly (--plaintext), or make an encrypted backup instead."),
            )
        found = self.list_encounters(since=since, order="oldest")
        try:
            self.record("export", fmt, {"encounters": len(found), "plaintext": True})
        except DiskFull as full:
            raise DiskFull.nothing_changed() from full
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
