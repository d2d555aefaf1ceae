"""The application layer: one ``Session`` object the TUI and scripts drive.

The TUI imports only this package (and the protocol's pure types); the store, the engines,
understanding and the interview are reached through it.
"""

from __future__ import annotations

from .encounter import Encounter
from .flow import VitalsError, parse_number
from .session import NotUnlocked, Session
from .views import (
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
    "Encounter",
    "EncounterDetail",
    "ModelChoice",
    "NotUnlocked",
    "ProposalStatus",
    "ProposedFinding",
    "QuestionView",
    "QueueEntry",
    "Session",
    "SignChoice",
    "TriageResult",
    "VitalCheck",
    "VitalsError",
    "parse_number",
]
