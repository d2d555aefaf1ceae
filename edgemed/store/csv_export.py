"""Encounters as CSV, one row per encounter (latest version), for a spreadsheet or a report."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from edgemed.store.records import StoredEncounter, to_timestamp

COLUMNS = (
    "encounter_id",
    "version",
    "arrived_at",
    "decided_at",
    "user",
    "clinic_number",
    "patient_name",
    "sex",
    "age_years",
    "complaint",
    "category",
    "target_minutes",
    "reasons",
    "confirmed_findings",
    "rejected_findings",
    "vitals",
    "protocol_id",
    "protocol_version",
    "protocol_sha256",
    "model_id",
    "model_sha256",
    "handover_note",
    "correction_reason",
)


def _codes(findings: Iterable[dict[str, object]]) -> str:
    return "; ".join(str(f.get("code", f.get("label", ""))) for f in findings)


def write_csv(encounters: Iterable[StoredEncounter], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for found in encounters:
        record, decision = found.record, found.record.decision
        writer.writerow(
            {
                "encounter_id": found.encounter_id,
                "version": found.version,
                "arrived_at": to_timestamp(record.arrived_at),
                "decided_at": to_timestamp(record.decided_at),
                "user": record.user,
                "clinic_number": record.patient.get("clinic_number", ""),
                "patient_name": record.patient.get("name", ""),
                "sex": record.patient.get("sex", ""),
                "age_years": record.patient.get("age_years", ""),
                "complaint": record.complaint,
                "category": decision.get("category", ""),
                "target_minutes": decision.get("target_minutes", ""),
                "reasons": "; ".join(str(r) for r in decision.get("reasons", [])),
                "confirmed_findings": _codes(record.findings.confirmed),
                "rejected_findings": _codes(record.findings.rejected),
                "vitals": json.dumps(record.vitals, sort_keys=True),
                "protocol_id": decision.get("protocol_id", ""),
                "protocol_version": decision.get("protocol_version", ""),
                "protocol_sha256": decision.get("protocol_sha256", ""),
                "model_id": record.model_id or "",
                "model_sha256": record.model_sha256 or "",
                "handover_note": record.handover_note,
                "correction_reason": found.correction_reason,
            }
        )
        count += 1
    return count
