"""The application layer: one ``Session`` object the TUI and scripts drive.

The TUI imports only this package (and the protocol's pure types); the store, the engines,
understanding and the interview are reached through it.
"""

from __future__ import annotations

from .encounter import Encounter
from .flow import RequiredField, VitalsError, parse_number
from .session import NotUnlocked, Session
from .views import (
    DISCRIMINATORS_KEY,
    EncounterDetail,
    ModelChoice,
    ProposalStatus,
    ProposedFinding,
    QuestionView,
    QueueEntry,
    SignChoice,
    TriageResult,
    VitalCheck,
)

__all__ = [
    "DISCRIMINATORS_KEY",
    "Encounter",
    "EncounterDetail",
    "ModelChoice",
    "NotUnlocked",
    "ProposalStatus",
    "ProposedFinding",
    "QuestionView",
    "QueueEntry",
    "RequiredField",
    "Session",
    "SignChoice",
    "TriageResult",
    "VitalCheck",
    "VitalsError",
    "parse_number",
]
