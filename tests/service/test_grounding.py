"""A model's handover wording is kept only when everything it states is in the encounter."""

from __future__ import annotations

import pytest

from edgemed.service.grounding import check_grounding

FACTS = (
    "Handover: Amina\nComplaint: chest pain since this morning\n"
    "Triage: ORANGE (Very urgent), Within 10 minutes.\n"
    "Because: Chest pain\nPresent: Chest pain\nHeart rate: 104 /min\nTemperature: 37.2 °C"
)
ALLOWED = ["Chest pain", "ORANGE", "Very urgent"]
FORBIDDEN = ["Coughing blood", "Stiff neck", "RED", "Emergency", "GREEN", "Routine"]


def test_a_faithful_summary_passes() -> None:
    text = "Amina has chest pain since this morning, heart rate 104, temperature 37.2. ORANGE."
    assert check_grounding(text, FACTS, ALLOWED, FORBIDDEN).ok


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("30% of patients with chest pain are dying.", "numbers"),
        ("Heart rate 140, very fast.", "numbers"),
        ("Give paracetamol and review.", "medicines"),
        ("Donner du paracétamol.", "medicines"),
        ("Chest pain and coughing blood.", "signs or categories"),
        ("This is an emergency, RED.", "signs or categories"),
        ("chest pain chest pain chest pain chest pain chest pain chest pain", "repeated"),
    ],
)
def test_invented_facts_are_refused(text: str, problem: str) -> None:
    verdict = check_grounding(text, FACTS, ALLOWED, FORBIDDEN)
    assert not verdict.ok
    assert problem in verdict.reason()


def test_numbers_compare_by_value_and_arabic_digits_count() -> None:
    facts = "Heart rate: 110 /min\nTemperature: 38,5 °C"
    assert check_grounding("Pulse 110, temp 38.5", facts, [], []).ok
    assert check_grounding("النبض ١١٠", facts, [], []).ok
    assert not check_grounding("النبض ١٥٠", facts, [], []).ok
    assert not check_grounding("Pulse 11", facts, [], []).ok  # 11 is not 110
