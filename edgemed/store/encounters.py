"""The encounters table: rows in, stored versions out, and the "latest version" queries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlite_utils

from edgemed.errors import InputError
from edgemed.files import utc_now
from edgemed.i18n import _
from edgemed.store.errors import UnknownEncounter, store_errors
from edgemed.store.records import (
    EncounterRecord,
    StoredEncounter,
    canonical_json,
    from_timestamp,
    sha256_text,
    to_timestamp,
)
from edgemed.store.search import fts_query

_COLUMNS: tuple[str, ...] = ("encounter_id", "version", "record_json", "saved_at", "saved_by")
_COLUMNS += ("correction_reason", "record_sha256")

ORDERINGS = {
    "newest": "e.arrived_at DESC",
    "oldest": "e.arrived_at ASC",
    # Today's queue: shortest target time first, then who came first.
    "urgency": "e.target_minutes IS NULL, e.target_minutes ASC, e.arrived_at ASC",
}


def build_row(
    encounter_id: str, version: int, record: EncounterRecord, reason: str, saved_by: str
) -> dict[str, Any]:
    """The row for one version: the whole record as canonical JSON plus the indexed columns."""
    record_json = canonical_json(record.to_dict())
    decision, patient = record.decision, record.patient
    target, protocol_version = decision.get("target_minutes"), decision.get("protocol_version")
    return {
        "encounter_id": encounter_id,
        "version": version,
        "arrived_at": to_timestamp(record.arrived_at),
        "decided_at": to_timestamp(record.decided_at),
        "saved_at": to_timestamp(utc_now()),
        "saved_by": saved_by,
        "user": record.user,
        "correction_reason": reason,
        "clinic_number": str(patient.get("clinic_number", "")),
        "patient_name": str(patient.get("name", "")),
        "category": str(decision.get("category", "")),
        "target_minutes": None if target is None else int(target),
        "protocol_id": decision.get("protocol_id"),
        "protocol_version": None if protocol_version is None else str(protocol_version),
        "protocol_sha256": decision.get("protocol_sha256"),
        "model_id": record.model_id,
        "model_sha256": record.model_sha256,
        "complaint": record.complaint,
        "record_json": record_json,
        "record_sha256": sha256_text(record_json),
    }


# Every stored column but the rowid, in a fixed order: what the row digest covers.
ROW_COLUMNS: tuple[str, ...] = (
    "encounter_id",
    "version",
    "arrived_at",
    "decided_at",
    "saved_at",
    "saved_by",
    "user",
    "correction_reason",
    "clinic_number",
    "patient_name",
    "category",
    "target_minutes",
    "protocol_id",
    "protocol_version",
    "protocol_sha256",
    "model_id",
    "model_sha256",
    "complaint",
    "record_json",
    "record_sha256",
)


def row_digest(row: dict[str, Any]) -> str:
    """sha256 over every column of a row (the save's audit entry records it): an edited
    arrived_at, target_minutes, patient_name or category shows, not just an edited record."""
    return sha256_text(canonical_json([row[c] for c in ROW_COLUMNS]))


def expected_columns(row: dict[str, Any]) -> dict[str, Any] | None:
    """The columns a row's own record implies (all but saved_at/saved_by/correction_reason);
    None when the record cannot be read. Checks rows saved before the row digest existed."""
    try:
        record = EncounterRecord.from_dict(json.loads(row["record_json"]))
        built = build_row(row["encounter_id"], row["version"], record, "", "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    # record_json and its sha256 are checked against the audit entry already.
    for name in ("saved_at", "saved_by", "correction_reason", "record_json", "record_sha256"):
        built.pop(name)
    return built


def insert(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    """One plain INSERT (sqlite-utils' insert re-reads the table's schema on every call)."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    db.execute(f"INSERT INTO encounters ({columns}) VALUES ({marks})", list(row.values()))


def read(db: sqlite_utils.Database, sql: str, params: list[Any]) -> list[StoredEncounter]:
    with store_errors():
        rows = db.execute(sql, params).fetchall()
    return [
        StoredEncounter(
            encounter_id=r[0],
            version=int(r[1]),
            record=EncounterRecord.from_dict(json.loads(r[2])),
            saved_at=from_timestamp(r[3]),
            saved_by=r[4] or "",
            correction_reason=r[5] or "",
            record_sha256=r[6],
        )
        for r in rows
    ]


def resolve_id(db: sqlite_utils.Database, prefix: str) -> str:
    """The one encounter id starting with ``prefix`` (what a nurse types from a printout)."""
    # A range on the unique (encounter_id, version) index, not LIKE (which would scan the table).
    low = prefix.strip().lower()
    with store_errors():
        ids = [
            r[0]
            for r in db.execute(
                "SELECT DISTINCT encounter_id FROM encounters "
                "WHERE encounter_id >= ? AND encounter_id < ? LIMIT 2",
                [low, low + "\U0010ffff"],
            )
        ]
    if len(ids) == 1:
        return str(ids[0])
    message = _("No encounter {id}.") if not ids else _("More than one encounter starts with {id}.")
    raise UnknownEncounter(message.format(id=prefix))


def versions(db: sqlite_utils.Database, encounter_id: str) -> list[StoredEncounter]:
    sql = f"SELECT {', '.join(_COLUMNS)} FROM encounters WHERE encounter_id = ? ORDER BY version"
    return read(db, sql, [encounter_id])


def latest(
    db: sqlite_utils.Database,
    since: datetime | None,
    until: datetime | None,
    search: str | None,
    limit: int | None,
    order: str,
) -> list[StoredEncounter]:
    """The latest version of each encounter matching the filters."""
    if order not in ORDERINGS:
        raise InputError(
            _("Unknown order {order}: use one of {known}.").format(
                order=order, known=", ".join(ORDERINGS)
            )
        )
    where, params = ["1 = 1"], []  # type: tuple[list[str], list[Any]]
    if since is not None:
        where.append("arrived_at >= ?")
        params.append(to_timestamp(since))
    if until is not None:
        where.append("arrived_at < ?")
        params.append(to_timestamp(until))
    if search and search.strip():
        where.append("row_id IN (SELECT rowid FROM encounters_fts WHERE encounters_fts MATCH ?)")
        params.append(fts_query(search))
    # Corrections keep the arrival time, so every version of a matching encounter is in range.
    sql = (
        f"SELECT {', '.join('e.' + c for c in _COLUMNS)} FROM encounters e "
        "JOIN (SELECT encounter_id AS id, max(version) AS v FROM encounters WHERE encounter_id IN "
        f"(SELECT encounter_id FROM encounters WHERE {' AND '.join(where)}) "
        "GROUP BY encounter_id) last ON e.encounter_id = last.id AND e.version = last.v "
        f"ORDER BY {ORDERINGS[order]}" + (f" LIMIT {int(limit)}" if limit else "")
    )
    return read(db, sql, params)


def purge_before(db: sqlite_utils.Database, cutoff: str) -> list[str]:
    """Delete every version of encounters that arrived before ``cutoff``; returns their ids."""
    old = "SELECT encounter_id FROM encounters GROUP BY encounter_id HAVING max(arrived_at) < ?"
    ids = [str(r[0]) for r in db.execute(old, [cutoff])]
    db.execute(f"DELETE FROM encounters WHERE encounter_id IN ({old})", [cutoff])
    db.execute("DELETE FROM drafts WHERE updated_at < ?", [cutoff])
    return ids
