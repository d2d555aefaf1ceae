"""What an encounter keeps, as typed dataclasses at the store's boundary.

The store does not import the protocol engine: the patient, vitals, findings and decision arrive as
JSON-ready dicts (``Decision.to_dict()`` for the decision), and the store pulls out only the columns
it indexes (category, target time, protocol id/version/sha256).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from edgemed.files import utc_now

JSON = dict[str, Any]


def to_timestamp(moment: datetime) -> str:
    """One sortable text form for every time in the log: UTC, microseconds, ``Z``."""
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a naive time is the clinic's local time
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_timestamp(text: str) -> datetime:
    # fromisoformat is ~10x faster than strptime (the queue parses two per row); Python 3.10's
    # does not read "Z", so it is spelled out.
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00")


def canonical_json(value: Any) -> str:
    """Stable JSON (sorted keys, no spaces) so that equal content always hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Findings:
    """Findings by status. Only ``confirmed`` ones count; ``proposed`` ones came from a model and
    were never confirmed; ``rejected`` ones the nurse ruled out. Each is a JSON-ready dict
    (at least ``code``; usually ``label``, ``source`` and the ``evidence`` span)."""

    confirmed: tuple[JSON, ...] = ()
    proposed: tuple[JSON, ...] = ()
    rejected: tuple[JSON, ...] = ()

    def to_dict(self) -> JSON:
        return {
            "confirmed": list(self.confirmed),
            "proposed": list(self.proposed),
            "rejected": list(self.rejected),
        }

    @classmethod
    def from_dict(cls, raw: JSON) -> Findings:
        return cls(
            tuple(raw.get("confirmed", ())),
            tuple(raw.get("proposed", ())),
            tuple(raw.get("rejected", ())),
        )


@dataclass(frozen=True)
class EncounterRecord:
    """One triage encounter as the nurse closed it.

    ``patient`` holds minimal identifiers only: ``clinic_number``, ``name``, ``sex``
    (male/female/other/unknown), ``age_years`` or ``birth_date`` (YYYY-MM-DD). ``decision`` is
    ``Decision.to_dict()``: category, target_minutes, reasons, warnings, protocol_id,
    protocol_version, protocol_sha256. ``model_id``/``model_sha256`` name the model that made any
    proposal or note (None in rules-only mode). ``user`` is filled with the unlocked account when
    left empty.
    """

    patient: JSON
    complaint: str
    decision: JSON
    findings: Findings = field(default_factory=Findings)
    vitals: JSON = field(default_factory=dict)
    handover_note: str = ""
    model_id: str | None = None
    model_sha256: str | None = None
    user: str = ""
    arrived_at: datetime = field(default_factory=utc_now)
    decided_at: datetime = field(default_factory=utc_now)

    def with_user(self, user: str) -> EncounterRecord:
        return self if self.user else replace(self, user=user)

    def to_dict(self) -> JSON:
        return {
            "patient": self.patient,
            "complaint": self.complaint,
            "decision": self.decision,
            "findings": self.findings.to_dict(),
            "vitals": self.vitals,
            "handover_note": self.handover_note,
            "model_id": self.model_id,
            "model_sha256": self.model_sha256,
            "user": self.user,
            "arrived_at": to_timestamp(self.arrived_at),
            "decided_at": to_timestamp(self.decided_at),
        }

    @classmethod
    def from_dict(cls, raw: JSON) -> EncounterRecord:
        return cls(
            patient=dict(raw["patient"]),
            complaint=str(raw["complaint"]),
            decision=dict(raw["decision"]),
            findings=Findings.from_dict(raw.get("findings", {})),
            vitals=dict(raw.get("vitals", {})),
            handover_note=str(raw.get("handover_note", "")),
            model_id=raw.get("model_id"),
            model_sha256=raw.get("model_sha256"),
            user=str(raw.get("user", "")),
            arrived_at=from_timestamp(raw["arrived_at"]),
            decided_at=from_timestamp(raw["decided_at"]),
        )

    def content_sha256(self) -> str:
        return sha256_text(canonical_json(self.to_dict()))


@dataclass(frozen=True)
class SaveReceipt:
    """What a save returns: where the record now lives (not an encounter: see StoredEncounter)."""

    encounter_id: str
    version: int
    record_sha256: str


@dataclass(frozen=True)
class StoredEncounter:
    """One version of an encounter as read back from the log."""

    encounter_id: str
    version: int
    record: EncounterRecord
    saved_at: datetime
    saved_by: str
    correction_reason: str
    record_sha256: str

    @property
    def category(self) -> str:
        return str(self.record.decision.get("category", ""))
