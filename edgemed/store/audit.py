"""The audit log: append-only and hash-chained, so an edited, deleted or reordered entry shows.

Each entry's hash covers the previous entry's hash and its own content (time, user, action,
subject, detail). The sequence number is deliberately *not* hashed: it is what an attacker would
renumber, and leaving it out lets verification tell a reordered entry (its ``prev_hash`` is the
hash of some other entry) from an edited one (its content no longer matches its own hash). The
head (last sequence number and hash) is kept in ``meta`` in the same transaction, so entries cut
from the end are noticed too. Audit details hold ids and hashes only, never patient data, so
purging old encounters leaves the chain whole.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from edgemed.files import utc_now
from edgemed.i18n import _
from edgemed.store.records import canonical_json, sha256_text, to_timestamp

# Each entry also carries ``mac = HMAC-SHA256(audit key, mac of its predecessor + "\n" + hash)``
# (migration 0005; entries written before it have none). The key is random, kept in ``meta``
# inside the encrypted file. The chain head (sequence number = a monotonic counter, and hash) is
# also kept in the keyring, MAC'd with a key derived from the data key (keyring.ChainHead), so an
# older copy of the database put back, or entries cut from its end, are noticed even when the
# copy is consistent in itself.


def genesis_hash(log_id: str) -> str:
    """The chain starts from the log's own id: entries cannot be spliced in from another log."""
    return sha256_text("edgemed-audit:" + log_id)


def entry_hash(prev_hash: str, at: str, user: str, action: str, subject: str, detail: str) -> str:
    content = canonical_json([at, user, action, subject, detail])
    return sha256_text(prev_hash + "\n" + content)


def entry_mac(key: bytes, prev_mac: str, digest: str) -> str:
    return hmac.new(key, f"{prev_mac}\n{digest}".encode(), hashlib.sha256).hexdigest()


def has_mac(db: sqlite_utils.Database) -> bool:
    return any(r[1] == "mac" for r in db.execute("PRAGMA table_info(audit)").fetchall())


def mac_key(db: sqlite_utils.Database) -> bytes | None:
    found = _meta(db, "audit_mac_key")
    try:
        return bytes.fromhex(found) if found else None
    except ValueError:
        return None


def last_entry(db: sqlite_utils.Database) -> tuple[int, str] | None:
    row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def _meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def _set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])


def append(
    db: sqlite_utils.Database,
    log_id: str,
    user: str,
    action: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry; call inside the write transaction of the change it records."""
    at = to_timestamp(utc_now())
    detail_json = canonical_json(detail or {})
    key = mac_key(db) if has_mac(db) else None
    if key is None:
        head = db.execute("SELECT seq, hash, NULL FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    else:
        head = db.execute("SELECT seq, hash, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, genesis_hash(log_id)) if head is None else (int(head[0]) + 1, str(head[1]))
    digest = entry_hash(prev, at, user, action, subject, detail_json)
    if key is None:
        db.execute(
            "INSERT INTO audit (seq, at, user, action, subject, detail_json, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, at, user, action, subject, detail_json, prev, digest],
        )
    else:
        mac = entry_mac(key, str(head[2] or "") if head is not None else "", digest)
        db.execute(
            "INSERT INTO audit (seq, at, user, action, subject, detail_json, prev_hash, hash, mac)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, at, user, action, subject, detail_json, prev, digest, mac],
        )
    _set_meta(db, "audit_head", f"{seq}:{digest}")
    return seq


@dataclass(frozen=True)
class AuditProblem:
    """One thing wrong with the log; ``seq`` names the audit entry (0 when none applies)."""

    seq: int
    # edited | deleted | reordered | truncated | forged | unauthenticated | rolled-back |
    # keyring-head | encounter-changed | encounter-deleted | search-index | schema | damaged-page
    kind: str
    message: str


@dataclass
class AuditReport:
    entries: int = 0
    encounters_checked: int = 0
    head: str = ""
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_chain(db: sqlite_utils.Database, log_id: str, report: AuditReport) -> None:
    key = mac_key(db) if has_mac(db) else None
    mac_column = "mac" if key is not None else "NULL"
    rows = db.execute(
        "SELECT seq, at, user, action, subject, detail_json, prev_hash, hash, "
        f"{mac_column} FROM audit ORDER BY seq"
    ).fetchall()
    report.entries = len(rows)
    position_of = {str(r[7]): int(r[0]) for r in rows}
    mac_of = {str(r[7]): r[8] for r in rows}
    expected_prev, expected_seq = genesis_hash(log_id), 1
    macs_started = False
    for seq, at, user, action, subject, detail, prev_hash, stored, mac in rows:
        edited = entry_hash(prev_hash, at, user, action, subject, detail) != stored
        if edited:
            report.problems.append(
                AuditProblem(
                    seq,
                    "edited",
                    _("Audit entry #{seq} was changed after it was written.").format(seq=seq),
                )
            )
        if key is not None and mac is None and macs_started:
            report.problems.append(
                AuditProblem(
                    seq,
                    "unauthenticated",
                    _("Audit entry #{seq} has no MAC: it was not written by edgemed.").format(
                        seq=seq
                    ),
                )
            )
        elif key is not None and mac is not None:
            macs_started = True
            known_prev = prev_hash == genesis_hash(log_id) or prev_hash in mac_of
            prev_mac = str(mac_of.get(prev_hash) or "")
            if (
                not edited
                and known_prev
                and not hmac.compare_digest(entry_mac(key, prev_mac, stored), str(mac))
            ):
                report.problems.append(
                    AuditProblem(
                        seq,
                        "forged",
                        _(
                            "Audit entry #{seq} does not carry the log's MAC: it was rewritten "
                            "(hash recomputed) outside edgemed."
                        ).format(seq=seq),
                    )
                )
        if seq > expected_seq:
            report.problems.append(
                AuditProblem(
                    expected_seq,
                    "deleted",
                    _("Audit entries #{first} to #{last} were deleted.").format(
                        first=expected_seq, last=seq - 1
                    ),
                )
            )
        elif prev_hash != expected_prev:
            if prev_hash in position_of and position_of[prev_hash] != seq - 1:
                report.problems.append(
                    AuditProblem(
                        seq,
                        "reordered",
                        _(
                            "Audit entry #{seq} is out of order: "
                            "it was written right after the entry now at #{other}."
                        ).format(seq=seq, other=position_of[prev_hash]),
                    )
                )
            else:
                report.problems.append(
                    AuditProblem(
                        seq,
                        "deleted",
                        _(
                            "The audit chain breaks before entry #{seq}: "
                            "an entry there was deleted or rewritten."
                        ).format(seq=seq),
                    )
                )
        expected_prev, expected_seq = stored, seq + 1
    head = _meta(db, "audit_head") or ""
    report.head = head
    if head:
        try:
            head_seq = int(head.split(":")[0])
        except ValueError:
            head_seq = -1
        if head_seq > expected_seq - 1:
            report.problems.append(
                AuditProblem(
                    expected_seq,
                    "truncated",
                    _("Audit entries #{first} to #{last} were cut from the end.").format(
                        first=expected_seq, last=head_seq
                    ),
                )
            )
        elif 0 <= head_seq < expected_seq - 1:
            report.problems.append(
                AuditProblem(
                    head_seq + 1,
                    "unauthenticated",
                    _(
                        "Audit entries #{first} to #{last} were added without moving the chain "
                        "head: they were not written by edgemed."
                    ).format(first=head_seq + 1, last=expected_seq - 1),
                )
            )
        elif head_seq == expected_seq - 1 and head.split(":")[-1] != expected_prev:
            report.problems.append(
                AuditProblem(
                    head_seq,
                    "edited",
                    _("The last audit entry (#{seq}) was replaced.").format(seq=head_seq),
                )
            )


def _check_encounters(db: sqlite_utils.Database, report: AuditReport) -> None:
    """Every encounter version matches what its save entry recorded, column by column (the
    indexed columns decide the queue, the search and the category a nurse sees), and none went
    missing."""
    from edgemed.store.encounters import ROW_COLUMNS, expected_columns, row_digest

    saved: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
    purged: set[str] = set()
    for seq, action, detail_json in db.execute(
        "SELECT seq, action, detail_json FROM audit "
        "WHERE action IN ('save', 'correct', 'purge') ORDER BY seq"
    ):
        try:
            detail = json.loads(detail_json)
            if action == "purge":
                purged.update(detail.get("encounters", []))
            else:
                saved[(str(detail["encounter_id"]), int(detail["version"]))] = (seq, detail)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # an edited entry: its hash check has already said so
    present: set[tuple[str, int]] = set()
    for values in db.execute(f"SELECT {', '.join(ROW_COLUMNS)} FROM encounters"):
        row = dict(zip(ROW_COLUMNS, values, strict=True))
        encounter_id, version = str(row["encounter_id"]), int(row["version"])
        report.encounters_checked += 1
        present.add((encounter_id, version))
        audited = saved.get((encounter_id, version))
        changed = sha256_text(str(row["record_json"])) != row["record_sha256"]
        changed = (
            changed or audited is None or audited[1].get("record_sha256") != row["record_sha256"]
        )
        if not changed and audited is not None:
            detail = audited[1]
            changed = str(detail.get("reason", "")) != str(row["correction_reason"] or "")
            if "row_sha256" in detail:
                changed = changed or detail["row_sha256"] != row_digest(row)
        if not changed:
            expected = expected_columns(row)
            changed = expected is None or any(row[k] != v for k, v in expected.items())
        if changed:
            report.problems.append(
                AuditProblem(
                    audited[0] if audited else 0,
                    "encounter-changed",
                    _("Encounter {id} version {version} does not match what was saved.").format(
                        id=encounter_id, version=version
                    ),
                )
            )
    for (encounter_id, version), (seq, _detail) in sorted(saved.items(), key=lambda kv: kv[1][0]):
        if (encounter_id, version) not in present and encounter_id not in purged:
            report.problems.append(
                AuditProblem(
                    seq,
                    "encounter-deleted",
                    _("Encounter {id} version {version} was deleted without a purge.").format(
                        id=encounter_id, version=version
                    ),
                )
            )


def verify(db: sqlite_utils.Database, log_id: str) -> AuditReport:
    report = AuditReport()
    _check_chain(db, log_id, report)
    _check_encounters(db, report)
    return report
