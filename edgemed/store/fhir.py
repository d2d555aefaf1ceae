"""Encounters as a FHIR R4 Bundle (plain JSON: the clinic runtime needs no FHIR library).

Per encounter: a Patient, an Encounter, one Observation per vital sign (LOINC-coded where the
name is known), one Observation per confirmed finding (true) or finding the nurse ruled out
(false), and one Observation for the triage category with the protocol's reasons. Findings a model
proposed and nobody confirmed are left out on purpose: they are not clinical facts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from edgemed.store.records import JSON, StoredEncounter

_NAMESPACE = uuid.UUID("5d6c1f3e-2b0a-4f6e-9a51-0c6f3e9d2a10")

# vital name (as the protocol engine spells it, with common variants)
# -> (LOINC code, display, UCUM unit)
VITAL_CODES: dict[str, tuple[str, str, str]] = {
    "heart_rate": ("8867-4", "Heart rate", "/min"),
    "pulse": ("8867-4", "Heart rate", "/min"),
    "respiratory_rate": ("9279-1", "Respiratory rate", "/min"),
    "resp_rate": ("9279-1", "Respiratory rate", "/min"),
    "temperature_c": ("8310-5", "Body temperature", "Cel"),
    "temp_c": ("8310-5", "Body temperature", "Cel"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    "oxygen_saturation": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    "systolic_bp": ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    "sbp": ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    "diastolic_bp": ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "dbp": ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "weight_kg": ("29463-7", "Body weight", "kg"),
    "blood_glucose_mmol": ("15074-8", "Glucose [Moles/volume] in Blood", "mmol/L"),
    "muac_mm": ("56072-2", "Circumference Mid upper arm - right", "mm"),
}

_GENDERS = {"male", "female", "other", "unknown"}


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _ref(resource_id: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource_id}"}


def _when(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _patient(encounter: StoredEncounter, patient_id: str) -> JSON:
    patient = encounter.record.patient
    resource: JSON = {"resourceType": "Patient", "id": patient_id}
    if patient.get("clinic_number"):
        resource["identifier"] = [
            {"system": "urn:edgemed:clinic-number", "value": str(patient["clinic_number"])}
        ]
    if patient.get("name"):
        resource["name"] = [{"text": str(patient["name"])}]
    sex = str(patient.get("sex", "unknown")).lower()
    resource["gender"] = sex if sex in _GENDERS else "unknown"
    if patient.get("birth_date"):
        resource["birthDate"] = str(patient["birth_date"])
    return resource


def _observation(
    obs_id: str, code: JSON, subject: str, encounter: str, when: str, **value: Any
) -> JSON:
    return {
        "resourceType": "Observation",
        "id": obs_id,
        "status": "final",
        "code": code,
        "subject": _ref(subject),
        "encounter": _ref(encounter),
        "effectiveDateTime": when,
        **value,
    }


def _vital(key: str, value: Any, ids: tuple[str, str, str], when: str) -> JSON:
    obs_id, subject, encounter = ids
    known = VITAL_CODES.get(key)
    if known:
        code: JSON = {
            "coding": [{"system": "http://loinc.org", "code": known[0], "display": known[1]}],
            "text": known[1],
        }
    else:
        code = {"text": key}
    category = [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                }
            ]
        }
    ]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _observation(
            obs_id, code, subject, encounter, when, category=category, valueString=str(value)
        )
    quantity: JSON = {"value": value}
    if known:
        quantity.update({"unit": known[2], "system": "http://unitsofmeasure.org", "code": known[2]})
    return _observation(
        obs_id, code, subject, encounter, when, category=category, valueQuantity=quantity
    )


def encounter_resources(encounter: StoredEncounter) -> list[JSON]:
    """The FHIR resources for one encounter version."""
    record, key = encounter.record, f"{encounter.encounter_id}/{encounter.version}"
    patient_id, encounter_id = _id(key, "patient"), _id(key, "encounter")
    when = _when(record.decided_at)
    resources: list[JSON] = [_patient(encounter, patient_id)]
    fhir_encounter: JSON = {
        "resourceType": "Encounter",
        "id": encounter_id,
        "identifier": [
            {
                "system": "urn:edgemed:encounter",
                "value": f"{encounter.encounter_id}-v{encounter.version}",
            }
        ],
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": _ref(patient_id),
        "period": {"start": _when(record.arrived_at), "end": when},
    }
    if record.complaint:
        fhir_encounter["reasonCode"] = [{"text": record.complaint}]
    resources.append(fhir_encounter)
    for name, value in sorted(record.vitals.items()):
        if value is not None:
            resources.append(
                _vital(name, value, (_id(key, "vital", name), patient_id, encounter_id), when)
            )
    for present, findings in ((True, record.findings.confirmed), (False, record.findings.rejected)):
        for finding in findings:
            code = str(finding.get("code", finding.get("label", "finding")))
            label = str(finding.get("label", code))
            resources.append(
                _observation(
                    _id(key, "finding", code, str(present)),
                    {
                        "coding": [
                            {"system": "urn:edgemed:finding", "code": code, "display": label}
                        ],
                        "text": label,
                    },
                    patient_id,
                    encounter_id,
                    when,
                    category=[
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "exam",
                                }
                            ]
                        }
                    ],
                    valueBoolean=present,
                )
            )
    decision = record.decision
    protocol = f"urn:edgemed:protocol:{decision.get('protocol_id', 'unknown')}"
    triage = _observation(
        _id(key, "triage"),
        {"text": "Triage category"},
        patient_id,
        encounter_id,
        when,
        valueCodeableConcept={
            "coding": [
                {
                    "system": protocol,
                    "version": str(decision.get("protocol_version", "")) or None,
                    "code": str(decision.get("category", "unknown")),
                }
            ],
            "text": str(decision.get("category", "unknown")),
        },
        method={
            "text": f"{decision.get('protocol_id', '')} {decision.get('protocol_version', '')} "
            f"sha256:{decision.get('protocol_sha256', '')}".strip()
        },
    )
    if triage["valueCodeableConcept"]["coding"][0]["version"] is None:
        del triage["valueCodeableConcept"]["coding"][0]["version"]
    notes = [{"text": str(r)} for r in decision.get("reasons", [])]
    if record.handover_note:
        notes.append({"text": "Handover note: " + record.handover_note})
    if notes:
        triage["note"] = notes
    resources.append(triage)
    return resources


def bundle(encounters: Iterable[StoredEncounter], timestamp: str) -> JSON:
    """A FHIR R4 ``collection`` Bundle of every encounter given."""
    entries = [
        {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
        for encounter in encounters
        for resource in encounter_resources(encounter)
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timestamp,
        "entry": entries,
    }
