"""One encounter in progress: what the nurse has typed, confirmed and measured so far.

It turns into a JSON-ready draft after every step (kept encrypted by the store), so a crash or
a power cut loses at most the field being typed, and back from one when the app restarts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from edgemed.files import utc_now
from edgemed.protocol import (
    Concern,
    Decision,
    Finding,
    Patient,
    Presence,
    Reporter,
    RoutingNote,
    Vitals,
)

from .views import ProposalStatus, ProposedFinding

# The steps of an encounter, in order: the one place that says it (the TUI's navigator asks
# ``step_after`` / ``step_before`` and shows the step's screen). The first five are typed by the
# nurse; "result" is the decision, saved; "note" and "saved" follow on the result screen.
STEPS = ("patient", "proposals", "signs", "vitals", "questions", "result", "note", "saved")
ENTRY_STEPS = STEPS[: STEPS.index("result")]


def step_after(step: str) -> str:
    """The step that follows ``step`` (the last one stays where it is)."""
    index = STEPS.index(step) if step in STEPS else 0
    return STEPS[min(index + 1, len(STEPS) - 1)]


def step_before(step: str) -> str | None:
    """The entry step before ``step``, or None on the first one (and after the decision: a
    saved decision is changed by a correction, never by going back)."""
    if step not in ENTRY_STEPS or step == ENTRY_STEPS[0]:
        return None
    return ENTRY_STEPS[ENTRY_STEPS.index(step) - 1]


@dataclass
class Encounter:
    """The mutable state of one triage, from the patient's basics to the saved note."""

    draft_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=utc_now)
    step: str = "patient"
    patient_name: str = ""
    patient: Patient = field(default_factory=Patient)
    complaint: str = ""
    proposals: list[ProposedFinding] = field(default_factory=list)
    # The nurse's own answers (ticked signs, interview answers): id -> present/absent/unknown.
    answers: dict[str, Presence] = field(default_factory=dict)
    # Questions answered "not known" (signs) or "not measured" (vitals): not asked again.
    skipped: set[str] = field(default_factory=set)
    vitals: Vitals = field(default_factory=Vitals)
    vital_warnings: tuple[str, ...] = ()
    # Inputs the nurse could not measure, and why (finishes an incomplete decision, never lowers).
    unmeasurable: dict[str, str] = field(default_factory=dict)
    # The nurse's clinical concern: raises the category, never lowers it.
    concern: Concern | None = None
    protocol_id: str | None = None
    routing_note: RoutingNote | None = None
    decision: Decision | None = None
    encounter_id: str | None = None
    version: int = 0
    note: str = ""
    # Set when this encounter corrects a saved one: saving makes a new version of it.
    corrects: str | None = None
    # A correction's answers from the saved version, asked again one by one (each can change;
    # the question says what it was); whatever is not asked again is kept as it was.
    earlier: dict[str, Presence] = field(default_factory=dict)
    # A correction's proposals the saved version rejected: shown rejected again.
    rejected_before: set[str] = field(default_factory=set)
    # What the nurse typed on the current step but has not submitted yet (field -> text),
    # kept when the step is left (Esc, quit, lock) so nothing typed is lost.
    typed: dict[str, str] = field(default_factory=dict)
    # The discriminator checklist: each sign listed -> ticked, as last submitted (or kept when
    # the nurse went back to it, to show the ticks again), and whether it is done.
    checklist: dict[str, bool] = field(default_factory=dict)
    checklist_done: bool = False

    @property
    def correcting_version(self) -> int | None:
        """The version a correction will be saved as (None for a new encounter)."""
        return self.version + 1 if self.corrects else None

    def findings(self) -> tuple[Finding, ...]:
        """What the protocol counts: nurse answers, confirmed proposals, and pending proposals.

        Pending proposals go in as PROPOSAL findings: the engine never counts them, but warns
        when one would raise the category, so the nurse is told to confirm or reject it.
        """
        found: dict[str, Finding] = {}
        for proposal in self.proposals:
            presence = Presence.PRESENT if proposal.present else Presence.ABSENT
            if proposal.status is ProposalStatus.CONFIRMED:
                found[proposal.finding_id] = Finding(proposal.finding_id, presence)
            elif proposal.status is ProposalStatus.PENDING and proposal.present:
                found[proposal.finding_id] = Finding(
                    proposal.finding_id, presence, Reporter.PROPOSAL
                )
        for finding_id, presence in self.answers.items():
            found[finding_id] = Finding(finding_id, presence)
        return tuple(found.values())

    def known_ids(self) -> set[str]:
        """Findings the nurse has answered one way or the other (confirmed or rejected)."""
        known = set(self.answers)
        known.update(p.finding_id for p in self.proposals if p.status is not ProposalStatus.PENDING)
        return known

    def pending_proposals(self) -> list[ProposedFinding]:
        return [p for p in self.proposals if p.status is ProposalStatus.PENDING]

    def to_draft(self) -> dict[str, Any]:
        return {
            "draft_id": self.draft_id,
            "started_at": self.started_at.isoformat(),
            "step": self.step,
            "patient_name": self.patient_name,
            "patient": self.patient.to_dict(),
            "complaint": self.complaint,
            "proposals": [p.to_dict() for p in self.proposals],
            "answers": {k: v.value for k, v in self.answers.items()},
            "skipped": sorted(self.skipped),
            "vitals": self.vitals.to_dict(),
            "unmeasurable": dict(self.unmeasurable),
            "concern": self.concern.to_dict() if self.concern else None,
            "protocol_id": self.protocol_id,
            "decision": self.decision.to_dict() if self.decision else None,
            "encounter_id": self.encounter_id,
            "version": self.version,
            "note": self.note,
            "corrects": self.corrects,
            "earlier": {k: v.value for k, v in self.earlier.items()},
            "rejected_before": sorted(self.rejected_before),
            "typed": dict(self.typed),
            "checklist": dict(self.checklist),
            "checklist_done": self.checklist_done,
        }

    @classmethod
    def from_draft(cls, data: dict[str, Any], labels: dict[str, str]) -> Encounter:
        proposals = [
            ProposedFinding(
                finding_id=p["finding_id"],
                label=labels.get(p["finding_id"], p["finding_id"]),
                present=bool(p["present"]),
                confidence=float(p["confidence"]),
                method=str(p["method"]),
                span=(int(p["span"][0]), int(p["span"][1])),
                evidence=str(p["evidence"]),
                status=ProposalStatus(p["status"]),
            )
            for p in data.get("proposals", [])
        ]
        decision = data.get("decision")
        concern = data.get("concern")
        return cls(
            draft_id=data["draft_id"],
            started_at=datetime.fromisoformat(data["started_at"]),
            step=data.get("step", "patient"),
            patient_name=data.get("patient_name", ""),
            patient=Patient.from_dict(data.get("patient", {})),
            complaint=data.get("complaint", ""),
            proposals=proposals,
            answers={k: Presence(v) for k, v in data.get("answers", {}).items()},
            skipped=set(data.get("skipped", [])),
            vitals=Vitals.from_dict(data.get("vitals", {})),
            unmeasurable={str(k): str(v) for k, v in (data.get("unmeasurable") or {}).items()},
            concern=Concern.from_dict(concern) if concern else None,
            protocol_id=data.get("protocol_id"),
            decision=Decision.from_dict(decision) if decision else None,
            encounter_id=data.get("encounter_id"),
            version=int(data.get("version", 0)),
            note=data.get("note", ""),
            corrects=data.get("corrects"),
            earlier={str(k): Presence(v) for k, v in (data.get("earlier") or {}).items()},
            rejected_before={str(k) for k in data.get("rejected_before") or ()},
            typed={str(k): str(v) for k, v in (data.get("typed") or {}).items()},
            checklist={str(k): bool(v) for k, v in (data.get("checklist") or {}).items()},
            checklist_done=bool(data.get("checklist_done", False)),
        )


VITAL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Vitals))
