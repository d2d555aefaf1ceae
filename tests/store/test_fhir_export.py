"""The FHIR export validates against the R4 resource models of a maintained package."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from edgemed.store import Store

from .conftest import make_record


def _bundle(store: Store) -> dict[str, Any]:
    store.save_encounter(make_record("F1"))
    second = store.save_encounter(
        make_record("F2", category="red", target=0, vitals={"spo2": 85, "pain_score": 7})
    )
    store.correct_encounter(
        second.encounter_id, make_record("F2b", category="red", target=0), reason="x"
    )
    bundle = store.export_fhir(plaintext=True)
    return json.loads(json.dumps(bundle))  # what lands in the file


def test_the_bundle_validates_as_fhir_r4(store: Store) -> None:
    raw = _bundle(store)
    parsed = Bundle.model_validate(raw)
    assert parsed.type == "collection"
    kinds = Counter(entry.resource.__resource_type__ for entry in parsed.entry)
    # 2 encounters: each a Patient and an Encounter; the first has 5 vitals, the corrected
    # second (latest version) 5 too; 2 findings each (confirmed + ruled out); 1 triage each.
    assert kinds == Counter({"Patient": 2, "Encounter": 2, "Observation": 2 * (5 + 2 + 1)})


def test_the_bundle_carries_the_clinical_content(store: Store) -> None:
    raw = _bundle(store)
    resources = [e["resource"] for e in raw["entry"]]
    ids = {r["id"] for r in resources}
    for resource in resources:
        for key in ("subject", "encounter"):
            if key in resource:
                assert resource[key]["reference"].removeprefix("urn:uuid:") in ids
    heart = [
        r for r in resources if r.get("code", {}).get("coding", [{}])[0].get("code") == "8867-4"
    ]
    assert heart and heart[0]["valueQuantity"] == {
        "value": 130,
        "unit": "/min",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    triage = [r for r in resources if r.get("code", {}).get("text") == "Triage category"]
    assert sorted(t["valueCodeableConcept"]["text"] for t in triage) == ["red", "yellow"]
    assert "sha256:" + "ab" * 32 in triage[0]["method"]["text"]
    findings = {
        (r["code"]["coding"][0]["code"], r["valueBoolean"])
        for r in resources
        if "valueBoolean" in r
    }
    assert findings == {("fever", True), ("rash", False)}  # the unconfirmed proposal is left out
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    assert patients[0]["gender"] == "female" and patients[0]["identifier"][0]["value"] == "CF1-17"


def test_the_validator_really_checks(store: Store) -> None:
    raw = _bundle(store)
    encounter = next(e for e in raw["entry"] if e["resource"]["resourceType"] == "Encounter")
    encounter["resource"]["status"] = 42
    del encounter["resource"]["class"]
    with pytest.raises(ValidationError):
        Bundle.model_validate(raw)
