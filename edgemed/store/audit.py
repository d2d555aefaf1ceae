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

import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from edgemed.i18n import _
from edgemed.store.records import canonical_json, sha256_text, to_timestamp, utc_now


def genesis_hash(log_id: str) -> str:
    """The chain starts from the log's own id: entries cannot be spliced in from another log."""
    return sha256_text("edgemed-audit:" + log_id)


def entry_hash(prev_hash: str, at: str, user: str, action: str, subject: str, detail: str) -> str:
    content = canonical_json([at, user, action, subject, detail])
    return sha256_text(prev_hash + "\n" + content)


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
    head = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, genesis_hash(log_id)) if head is None else (int(head[0]) + 1, str(head[1]))
    digest = entry_hash(prev, at, user, action, subject, detail_json)
    db.execute(
        "INSERT INTO audit (seq, at, user, action, subject, detail_json, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, user, action, subject, detail_json, prev, digest],
    )
    _set_meta(db, "audit_head", f"{seq}:{digest}")
    return seq


@dataclass(frozen=True)
class AuditProblem:
    """One thing wrong with the log; ``seq`` names the audit entry (0 when none applies)."""

    seq: int
    kind: str  # edited | deleted | reordered | truncated | encounter-changed | encounter-deleted
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
    rows = db.execute(
        "SELECT seq, at, user, action, subject, detail_json, prev_hash, hash "
        "FROM audit ORDER BY seq"
    ).fetchall()
    report.entries = len(rows)
    position_of = {str(r[7]): int(r[0]) for r in rows}
    expected_prev, expected_seq = genesis_hash(log_id), 1
    for seq, at, user, action, subject, detail, prev_hash, stored in rows:
        if entry_hash(prev_hash, at, user, action, subject, detail) != stored:
            report.problems.append(
                AuditProblem(
                    seq,
                    "edited",
                    _("Audit entry #{seq} was changed after it was written.").format(seq=seq),
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
        head_seq = int(head.split(":")[0])
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
        elif head_seq == expected_seq - 1 and head.split(":")[1] != expected_prev:
            report.problems.append(
                AuditProblem(
                    head_seq,
                    "edited",
                    _("The last audit entry (#{seq}) was replaced.").format(seq=head_seq),
                )
            )


def _check_encounters(db: sqlite_utils.Database, report: AuditReport) -> None:
    """Every encounter version matches the hash its save entry recorded, and none went missing."""
    saved: dict[tuple[str, int], tuple[int, str]] = {}
    purged: set[str] = set()
    for seq, action, detail_json in db.execute(
        "SELECT seq, action, detail_json FROM audit "
        "WHERE action IN ('save', 'correct', 'purge') ORDER BY seq"
    ):
        detail = json.loads(detail_json)
        if action == "purge":
            purged.update(detail.get("encounters", []))
        else:
            saved[(detail["encounter_id"], int(detail["version"]))] = (seq, detail["record_sha256"])
    present: set[tuple[str, int]] = set()
    for encounter_id, version, record_json, record_sha in db.execute(
        "SELECT encounter_id, version, record_json, record_sha256 FROM encounters"
    ):
        report.encounters_checked += 1
        present.add((encounter_id, version))
        audited = saved.get((encounter_id, version))
        if sha256_text(record_json) != record_sha or audited is None or audited[1] != record_sha:
            report.problems.append(
                AuditProblem(
                    audited[0] if audited else 0,
                    "encounter-changed",
                    _("Encounter {id} version {version} does not match what was saved.").format(
                        id=encounter_id, version=version
                    ),
                )
            )
    for (encounter_id, version), (seq, _sha) in sorted(saved.items(), key=lambda kv: kv[1][0]):
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
