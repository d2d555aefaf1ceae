"""The triage protocol: pure domain types, the deterministic engine and the protocol data files.

This package is edgemed's safety core. It imports nothing else of edgemed (an import-linter
contract enforces it): the category never depends on a model, a screen or a database.
"""

from edgemed.protocol.case import Case, parse_case
from edgemed.protocol.definition import FindingDefinition, Protocol, UnverifiedCell
from edgemed.protocol.domain import (
    AVPU,
    Category,
    Concern,
    Consulted,
    Decision,
    Finding,
    Mobility,
    Patient,
    Presence,
    Reason,
    ReasonKind,
    Reporter,
    RoutingCode,
    RoutingNote,
    TriageWarning,
    Vitals,
    WarningCode,
    most_urgent,
)
from edgemed.protocol.engine import assess
from edgemed.protocol.errors import (
    ImpossibleVital,
    InvalidCase,
    ProtocolError,
    UnknownFinding,
    UnknownProtocol,
)
from edgemed.protocol.library import available_protocols, load_protocol
from edgemed.protocol.net import load_net, triage_view
from edgemed.protocol.routing import route
from edgemed.protocol.vital_limits import check_vitals, pregnancy_possible

__all__ = [
    "AVPU",
    "Case",
    "Category",
    "Concern",
    "Consulted",
    "Decision",
    "Finding",
    "FindingDefinition",
    "ImpossibleVital",
    "InvalidCase",
    "Mobility",
    "Patient",
    "Presence",
    "Protocol",
    "ProtocolError",
    "Reason",
    "ReasonKind",
    "Reporter",
    "RoutingCode",
    "RoutingNote",
    "TriageWarning",
    "UnknownFinding",
    "UnknownProtocol",
    "UnverifiedCell",
    "Vitals",
    "WarningCode",
    "assess",
    "available_protocols",
    "check_vitals",
    "load_net",
    "load_protocol",
    "most_urgent",
    "parse_case",
    "pregnancy_possible",
    "route",
    "triage_view",
]
