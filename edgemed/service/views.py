"""What the application layer hands to a screen: small typed values, already translated.

The TUI may not import the store, the engines or understanding (an import-linter contract), so
everything it shows arrives as one of these dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from edgemed.protocol import Category


class ProposalStatus(Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ModelChoice:
    """A model the clinic can pick, or rules-only mode (``model_id`` None)."""

    model_id: str | None
    title: str
    installed: bool
    detail: str = ""


@dataclass
class ProposedFinding:
    """A finding proposed from the complaint text, waiting for the nurse's yes or no."""

    finding_id: str
    label: str
    present: bool
    confidence: float
    method: str
    span: tuple[int, int]
    evidence: str
    status: ProposalStatus = ProposalStatus.PENDING

    def to_dict(self) -> dict[str, object]:
        return {
            "finding_id": self.finding_id,
            "present": self.present,
            "confidence": self.confidence,
            "method": self.method,
            "span": list(self.span),
            "evidence": self.evidence,
            "status": self.status.value,
        }


# The key of the discriminator checklist, asked as one question (edgemed.service.flow).
DISCRIMINATORS_KEY = "__discriminators__"


@dataclass(frozen=True)
class SignChoice:
    """One sign on a checklist (emergency signs, discriminators), with whether it is ticked."""

    finding_id: str
    label: str
    description: str
    ticked: bool


@dataclass(frozen=True)
class QuestionView:
    """The next interview question, in the nurse's language: a sign (yes / no / not known),
    when ``vital`` is set a measurement to type, or, when ``choices`` is set (key
    ``DISCRIMINATORS_KEY``), the discriminator checklist: tick every sign present, the others
    are recorded absent."""

    key: str
    text: str
    label: str
    asked: int
    why: str = ""
    vital: bool = False
    # How many questions are still pending, this one included (the interview may ask fewer:
    # an answer can end it, or more: a yes can open a sign that counts only in company).
    remaining: int = 1
    # The discriminator checklist's signs, in the order to look for them (empty otherwise).
    choices: tuple[SignChoice, ...] = ()
    # In a correction: the answer the saved version had ("yes", "no", "not known"), in the
    # nurse's language; empty when there was none.
    earlier: str = ""

    @property
    def checklist(self) -> bool:
        return self.key == DISCRIMINATORS_KEY


@dataclass(frozen=True)
class VitalCheck:
    """The verdict on one typed vital: refused (impossible), questioned, or fine."""

    field: str
    value: float | None
    error: str | None = None
    warning: str | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class TriageResult:
    """The decision as the nurse sees it; ``encounter_id`` proves it was saved first."""

    category: Category
    colour: str
    word: str
    target: str
    target_minutes: int
    reasons: tuple[str, ...]
    actions: tuple[str, ...]
    warnings: tuple[str, ...]
    protocol: str
    encounter_id: str
    version: int
    # INCOMPLETE: the category is a floor ("at least") until ``missing`` (in the nurse's words)
    # is measured or marked could-not-be-measured.
    incomplete: bool = False
    missing: tuple[str, ...] = ()
    missing_fields: tuple[str, ...] = ()
    concern: str = ""
    # Every protocol consulted, e.g. "sats-adult 2012-edgemed.1 + iitt-adult ... (safety net)".
    consulted: str = ""
    unverified: bool = True
    # The floor's reason, one of ``reasons`` ("" when there is none): a screen whose banner
    # already names what is still to measure leaves it out.
    floor_reason: str = ""


@dataclass(frozen=True)
class QueueEntry:
    """One row of today's queue: waiting time against the target time."""

    encounter_id: str
    patient: str
    complaint: str
    category: Category
    word: str
    arrived: datetime
    waited_minutes: int
    target_minutes: int
    overdue: bool
    user: str


@dataclass(frozen=True)
class EncounterDetail:
    """A saved encounter, every field readable, for the detail screen."""

    encounter_id: str
    version: int
    patient: str
    complaint: str
    category: Category
    word: str
    reasons: tuple[str, ...]
    findings: tuple[str, ...]
    vitals: tuple[str, ...]
    note: str
    saved: str
    user: str
    protocol: str
    model: str
