"""The encrypted encounter log as the application sees it: encounters in, encounters out.

This is the one module of the service that talks to ``edgemed.store``; it turns an
``Encounter`` into the store's JSON-ready ``EncounterRecord`` and back.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from edgemed.files import utc_now
from edgemed.protocol import Decision, Patient, Presence, ProtocolError, Vitals

from .encounter import Encounter
from .views import ProposalStatus

# The store (SQLCipher, sqlite-utils, and numpy through it) is imported when the log is first
# opened, not when the app starts: the unlock screen appears before that cost is paid.
if TYPE_CHECKING:
    from edgemed.store import EncounterRecord, Store, StoredEncounter


@dataclass(frozen=True)
class SavedEncounter:
    """One saved encounter (its latest version), read back from the log."""

    encounter_id: str
    version: int
    started_at: datetime
    saved_at: datetime
    user: str
    patient_name: str
    patient: Patient
    complaint: str
    findings: Mapping[str, Presence]
    vitals: Vitals
    decision: Decision
    note: str
    model: str
    # Why the latest version was saved: "seen" / "left without being seen" close it off the queue.
    reason: str = ""
    # The proposals the nurse rejected (a correction shows them rejected again).
    rejected: frozenset[str] = frozenset()


# Closing reasons: the patient leaves today's queue (the encounter stays in the log and history).
SEEN = "seen"
LEFT = "left without being seen"
CLOSING_REASONS = (SEEN, LEFT)


def _record(encounter: Encounter, user: str, model: str | None) -> EncounterRecord:
    from edgemed.store import EncounterRecord, Findings

    if encounter.decision is None:
        raise ValueError("an encounter is saved only once it has a decision")
    confirmed: list[dict[str, Any]] = []
    proposed: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for finding in encounter.findings():
        if finding.reporter.name == "NURSE":
            confirmed.append(
                {"code": finding.id, "presence": finding.presence.value, "source": "nurse"}
            )
    for proposal in encounter.proposals:
        entry: dict[str, Any] = {
            "code": proposal.finding_id,
            "presence": "present" if proposal.present else "absent",
            "source": proposal.method,
            "confidence": proposal.confidence,
            "evidence": {"span": list(proposal.span), "text": proposal.evidence},
        }
        if proposal.status is ProposalStatus.PENDING:
            proposed.append(entry)
        elif proposal.status is ProposalStatus.REJECTED:
            rejected.append(entry)
    patient = {"name": encounter.patient_name, **encounter.patient.to_dict()}
    return EncounterRecord(
        patient=patient,
        complaint=encounter.complaint,
        decision=encounter.decision.to_dict(),
        findings=Findings(tuple(confirmed), tuple(proposed), tuple(rejected)),
        vitals=encounter.vitals.to_dict(),
        handover_note=encounter.note,
        model_id=model,
        user=user,
        arrived_at=encounter.started_at,
        decided_at=utc_now(),
    )


_PATIENT_FIELDS = frozenset(f.name for f in fields(Patient))


def _patient(raw: Mapping[str, Any]) -> Patient:
    """The triage facts of a stored patient; the store's other documented identifiers
    (``clinic_number``, ``name``) are not triage facts and are left out, never an error."""
    try:
        return Patient.from_dict({k: v for k, v in raw.items() if k in _PATIENT_FIELDS})
    except ProtocolError:
        return Patient()


def _saved(stored: StoredEncounter) -> SavedEncounter:
    record = stored.record
    findings = {
        str(f["code"]): Presence(f.get("presence", "present")) for f in record.findings.confirmed
    }
    return SavedEncounter(
        encounter_id=stored.encounter_id,
        version=stored.version,
        started_at=record.arrived_at,
        saved_at=stored.saved_at,
        user=record.user or stored.saved_by,
        patient_name=str(record.patient.get("name", "")),
        patient=_patient(record.patient),
        complaint=record.complaint,
        findings=findings,
        vitals=Vitals.from_dict(record.vitals),
        decision=Decision.from_dict(record.decision),
        note=record.handover_note,
        model=record.model_id or "",
        reason=stored.correction_reason,
        rejected=frozenset(str(f["code"]) for f in record.findings.rejected),
    )


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _serialized(method: _Method) -> _Method:
    @functools.wraps(method)
    def serialized(self: EncounterLog, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_Method, serialized)


class EncounterLog:
    """The clinic's encrypted log, opened for one unlocked user."""

    def __init__(self, store: Store) -> None:
        self._store = store
        # One connection, used from the UI thread (drafts kept as they are typed) and from
        # workers (deciding, saving the note): one call at a time, never two transactions.
        self._lock = threading.RLock()

    @staticmethod
    def exists(path: Path) -> bool:
        return path.exists()

    @classmethod
    def create(
        cls, path: Path, user: str, passphrase: str, cost: dict[str, int] | None
    ) -> EncounterLog:
        from edgemed.store import Argon2Params, Store

        if cost is None:
            store = Store.create(path, user, passphrase)
        else:
            store = Store.create(path, user, passphrase, kdf=Argon2Params(**cost))
        return cls(store)

    @classmethod
    def open(cls, path: Path) -> EncounterLog:
        from edgemed.store import Store

        return cls(Store.open(path))

    @_serialized
    def unlock(self, user: str, passphrase: str) -> None:
        self._store.unlock(user, passphrase)

    @property
    def read_only_reason(self) -> str | None:
        """Why the log was opened for reading only (a rollback or a cut was found), or None."""
        return getattr(self._store, "read_only_reason", None)

    @_serialized
    def lock(self) -> None:
        # Closing drops the data key from memory; unlock() re-derives it from a passphrase.
        self._store.close()

    @_serialized
    def add_user(self, user: str, passphrase: str, cost: dict[str, int] | None) -> None:
        from edgemed.store import Argon2Params

        if cost is None:
            self._store.add_user(user, passphrase)
        else:
            self._store.add_user(user, passphrase, kdf=Argon2Params(**cost))

    @_serialized
    def close(self) -> None:
        self._store.close()

    @_serialized
    def save(self, encounter: Encounter, user: str, model: str | None) -> tuple[str, int]:
        """Save a decided encounter (or a correction of a saved one): (id, version)."""
        record = _record(encounter, user, model)
        if encounter.corrects or encounter.encounter_id:
            target = encounter.encounter_id or encounter.corrects or ""
            saved = self._store.correct_encounter(target, record, reason="correction")
        else:
            saved = self._store.save_encounter(record)
        return saved.encounter_id, saved.version

    @_serialized
    def correct(self, encounter: Encounter, user: str, model: str | None) -> int:
        """A new version of a saved encounter (an edited note, a correction)."""
        record = _record(encounter, user, model)
        saved = self._store.correct_encounter(
            encounter.encounter_id or "", record, reason="handover note"
        )
        return saved.version

    @_serialized
    def close_out(self, encounter_id: str, reason: str) -> int:
        """A new version of the encounter, its record unchanged, saved with a closing ``reason``
        (seen, or left without being seen): audited like every version."""
        current = self._store.get(encounter_id)
        saved = self._store.correct_encounter(encounter_id, current.record, reason=reason)
        return saved.version

    @_serialized
    def get(self, encounter_id: str) -> SavedEncounter:
        return _saved(self._store.get(encounter_id))

    @_serialized
    def encounters(
        self, since: datetime | None = None, search: str | None = None
    ) -> list[SavedEncounter]:
        return [_saved(s) for s in self._store.list_encounters(since=since, search=search)]

    @_serialized
    def save_draft(self, draft_id: str, data: dict[str, Any]) -> None:
        self._store.save_draft(draft_id, data)

    @_serialized
    def load_drafts(self) -> list[dict[str, Any]]:
        found = (self._store.load_draft(d) for d in self._store.list_drafts())
        return [draft for draft in found if draft is not None]

    @_serialized
    def discard_draft(self, draft_id: str) -> None:
        self._store.discard_draft(draft_id)
