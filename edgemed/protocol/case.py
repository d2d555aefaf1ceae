"""A case as JSON: the patient, the vitals, the findings and (optionally) a forced protocol.

    {"patient": {"age_years": 34, "sex": "female", "pregnant": true},
     "vitals": {"hr": 118, "rr": 24, "sbp": 92, "avpu": "A"},
     "findings": ["chest_pain", {"id": "stridor", "presence": "absent"}],
     "protocol": "sats-adult"}

Every part is optional; an unknown key anywhere is refused, so a typo never silently drops a
measurement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edgemed.protocol.domain import Decision, Finding, Patient, Vitals
from edgemed.protocol.engine import assess
from edgemed.protocol.errors import InvalidCase

CASE_KEYS = ("patient", "vitals", "findings", "protocol")


@dataclass(frozen=True)
class Case:
    patient: Patient = field(default_factory=Patient)
    vitals: Vitals = field(default_factory=Vitals)
    findings: tuple[Finding, ...] = ()
    protocol: str | None = None

    def assess(self) -> Decision:
        return assess(self.patient, self.vitals, self.findings, self.protocol)

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient": self.patient.to_dict(),
            "vitals": self.vitals.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "protocol": self.protocol,
        }

    @classmethod
    def from_dict(cls, data: object) -> Case:
        if not isinstance(data, Mapping):
            raise InvalidCase(f"case: expected a JSON object, got {type(data).__name__}.")
        unknown = sorted(str(k) for k in data if k not in CASE_KEYS)
        if unknown:
            raise InvalidCase(
                f"case: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(CASE_KEYS)}."
            )
        raw_findings = data.get("findings") or []
        if not isinstance(raw_findings, list):
            raise InvalidCase("case: 'findings' must be a list of ids or objects.")
        protocol = data.get("protocol")
        if protocol is not None and not isinstance(protocol, str):
            raise InvalidCase(f"case: 'protocol' must be a protocol id, got {protocol!r}.")
        return cls(
            patient=Patient.from_dict(data.get("patient") or {}),
            vitals=Vitals.from_dict(data.get("vitals") or {}),
            findings=tuple(Finding.from_dict(f) for f in raw_findings),
            protocol=protocol,
        )


def parse_case(text: str) -> Case:
    """Read a case from JSON text, naming the line and column of a syntax error."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidCase(
            f"the case is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    return Case.from_dict(data)
