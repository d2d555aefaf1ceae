"""A case as JSON: the patient, the vitals, the findings and (optionally) a forced protocol.

    {"patient": {"age_years": 34, "sex": "female", "pregnant": true},
     "vitals": {"hr": 118, "rr": 24, "sbp": 92, "avpu": "A"},
     "findings": ["chest_pain", {"id": "stridor", "presence": "absent"}],
     "protocol": "sats-adult",
     "unmeasurable": {"spo2": "no oximeter"},
     "concern": {"category": "orange", "reason": "looks grey and sweaty"}}

Every part is optional; an unknown key anywhere is refused, so a typo never silently drops a
measurement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edgemed.protocol.domain import Concern, Decision, Finding, Patient, Vitals
from edgemed.protocol.engine import assess
from edgemed.protocol.errors import InvalidCase

CASE_KEYS = ("patient", "vitals", "findings", "protocol", "unmeasurable", "concern")
# JSON nested deeper than this is not a case (and would exhaust the parser's stack).
MAX_DEPTH = 20
MAX_FINDINGS = 500


@dataclass(frozen=True)
class Case:
    patient: Patient = field(default_factory=Patient)
    vitals: Vitals = field(default_factory=Vitals)
    findings: tuple[Finding, ...] = ()
    protocol: str | None = None
    unmeasurable: Mapping[str, str] = field(default_factory=dict)
    concern: Concern | None = None

    def assess(self) -> Decision:
        return assess(
            self.patient,
            self.vitals,
            self.findings,
            self.protocol,
            unmeasurable=self.unmeasurable,
            concern=self.concern,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient": self.patient.to_dict(),
            "vitals": self.vitals.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "protocol": self.protocol,
            "unmeasurable": dict(self.unmeasurable),
            "concern": None if self.concern is None else self.concern.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: object) -> Case:
        if not isinstance(data, Mapping):
            raise InvalidCase(f"case: expected a JSON object, got {type(data).__name__}.")
        unknown = sorted(str(k)[:60] for k in data if k not in CASE_KEYS)
        if unknown:
            raise InvalidCase(
                f"case: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(CASE_KEYS)}."
            )
        raw_findings = data.get("findings") or []
        if not isinstance(raw_findings, list):
            raise InvalidCase("case: 'findings' must be a list of ids or objects.")
        if len(raw_findings) > MAX_FINDINGS:
            raise InvalidCase(f"case: more than {MAX_FINDINGS} findings.")
        unmeasurable = data.get("unmeasurable") or {}
        if not isinstance(unmeasurable, Mapping):
            raise InvalidCase(
                "case: 'unmeasurable' must map a measurement to why it could not be taken, "
                'e.g. {"spo2": "no oximeter"}.'
            )
        concern = data.get("concern")
        protocol = data.get("protocol")
        if protocol is not None and not isinstance(protocol, str):
            raise InvalidCase(f"case: 'protocol' must be a protocol id, got {protocol!r}.")
        return cls(
            patient=Patient.from_dict(data.get("patient") or {}),
            vitals=Vitals.from_dict(data.get("vitals") or {}),
            findings=tuple(Finding.from_dict(f) for f in raw_findings),
            protocol=protocol,
            unmeasurable=dict(unmeasurable),
            concern=None if concern is None else Concern.from_dict(concern),
        )


def _depth(text: str) -> int:
    """How deeply the JSON text nests (brackets outside strings), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: ``{"age_years": 30, "age_years": 1}`` is refused,
    never read as its last value."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidCase(f"the case gives {key[:60]!r} twice; keep one.")
        out[key] = value
    return out


def parse_case(text: str) -> Case:
    """Read a case from JSON text, naming the line and column of a syntax error."""
    if _depth(text) > MAX_DEPTH:
        raise InvalidCase(f"the case nests deeper than {MAX_DEPTH} levels; it is not a case.")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except InvalidCase:
        raise
    except json.JSONDecodeError as error:
        raise InvalidCase(
            f"the case is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except ValueError:
        # An integer with thousands of digits (Python refuses to convert it).
        raise InvalidCase(
            "the case holds a number with thousands of digits; no measurement is that long."
        ) from None
    except RecursionError:
        raise InvalidCase("the case nests too deeply; it is not a case.") from None
    return Case.from_dict(data)
