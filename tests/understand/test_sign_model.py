"""The shipped sign model (models/trained/): the real ONNX file, run with onnxruntime and our
tokenizer only, on a sample of the frozen held-out set. The bounds are regression floors below
the figures measured at release (docs/evaluation.md), not the issue's targets."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest

from edgemed.protocol import Presence, triage_view
from edgemed.understand import understand
from edgemed.understand.model_method import load_sign_model, propose_by_model, shipped_path

HELDOUT = Path(__file__).parents[1] / "data" / "signs_heldout_v2.jsonl"


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    found = load_sign_model()
    assert found is not None, "the sign model must ship in models/trained/"
    return found


def test_the_shipped_file_is_the_one_its_manifest_pins() -> None:
    import hashlib

    path = shipped_path()
    assert path is not None
    manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["artifacts"][0]["files"][0]
    assert entry["path"] == path.name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file()) < 30_000_000


def test_a_sample_of_the_held_out_set(model) -> None:  # type: ignore[no-untyped-def]
    rows = [json.loads(x) for x in HELDOUT.read_text(encoding="utf-8").splitlines() if x.strip()]
    sample = rows[::5]
    view = triage_view("sats-adult")
    urgent = {
        fid
        for pid in ("sats-adult", "etat-child")
        for fid, d in triage_view(pid).findings.items()
        if d.category.value in ("red", "orange")
    }
    hits = missed = wrong = negations = denied = 0
    times = []
    for row in sample:
        started = time.perf_counter()
        proposals = propose_by_model(row["text"], set(model.signs), model)
        times.append(time.perf_counter() - started)
        said = {p.finding_id for p in proposals if p.presence is Presence.PRESENT}
        truth = set(row.get("present", [])) & urgent
        hits += len(said & truth)
        missed += len(truth - said)
        wrong += len((said & urgent) - truth)
        negations += len(said & set(row.get("absent", [])))
        denied += len(row.get("absent", []))
    recall = hits / (hits + missed)
    precision = hits / max(1, hits + wrong)
    assert recall >= RECALL_FLOOR, (recall, precision)
    assert precision >= PRECISION_FLOOR, (recall, precision)
    assert negations / max(1, denied) <= NEGATION_CEILING
    assert statistics.median(times) < 0.1  # seconds per complaint on this machine
    assert view  # the vocabulary the app uses is loadable alongside


def test_evidence_is_the_words_that_said_it(model) -> None:  # type: ignore[no-untyped-def]
    text = "He was bitten by a snake on the foot an hour ago."
    proposals = {p.finding_id: p for p in propose_by_model(text, set(model.signs), model)}
    assert "snake_bite" in proposals
    start, end = proposals["snake_bite"].span
    assert 0 <= start < end <= len(text)
    assert proposals["snake_bite"].evidence == text[start:end]


def test_the_app_s_default_understanding_uses_it(model) -> None:  # type: ignore[no-untyped-def]
    result = understand("Mtoto ana degedege sasa hivi", "sw", triage_view("etat-child"))
    assert any("model" in p.method for p in result.proposals)


# Measured at release on the whole held-out set (docs/evaluation.md, "Sign model"); the sample
# floors sit below those figures so a broken model fails and a retrained one has room.
# On this sample (every fifth line of held-out v2) at release: recall 0.60, precision 0.46,
# negation errors 0.24, 5 ms a complaint.
RECALL_FLOOR = 0.45
PRECISION_FLOOR = 0.33
NEGATION_CEILING = 0.40
