"""Numbers in the text become proposed vitals, each with the span it came from."""

from __future__ import annotations

import pytest

from edgemed.understand import load_lexicon
from edgemed.understand.numbers import find_vitals


def _vitals(text: str, locale: str = "en") -> dict[str, float]:
    found = find_vitals(text, load_lexicon(locale))
    for v in found:
        assert text[v.span[0] : v.span[1]] == v.evidence
    return {v.field: v.value for v in found}


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("en", "48 y/o f, confusion", {"age_years": 48}),
        ("en", "An 18-month-old toddler", {"age_months": 18}),
        ("en", "12 y/o f, severe abdominal pain, T=104", {"age_years": 12, "temp_c": 40.0}),
        (
            "en",
            "fever of 100.4°F (38.0°C), heart rate 112 bpm, BP 95/65, and an O2 saturation "
            "on room air of 91%",
            {"temp_c": 38.0, "hr": 112, "sbp": 95, "dbp": 65, "spo2": 91},
        ),
        ("en", "a respiratory rate of 22 breaths per minute", {"rr": 22}),
        ("en", "shortness of breath for 30 min", {"duration_hours": 0.5}),
        (
            "fr",
            "Homme de 67 ans, température 38,5 °C, pouls 120",
            {"age_years": 67, "temp_c": 38.5, "hr": 120},
        ),
        ("es", "mujer de 30 años con fiebre de 39", {"age_years": 30, "temp_c": 39}),
        ("pt", "criança de 18 meses, febre há 3 dias", {"age_months": 18, "duration_hours": 72}),
        ("sw", "Msichana wa miaka 12 ana joto la 39", {"age_years": 12, "temp_c": 39}),
        ("ar", "طفل عمره ٤ سنوات، الحرارة ٣٩", {"age_years": 4, "temp_c": 39}),
    ],
)
def test_measurements_in_each_locale(locale: str, text: str, expected: dict[str, float]) -> None:
    found = _vitals(text, locale)
    for field, value in expected.items():
        assert found.get(field) == pytest.approx(value, abs=0.05), (field, found)


def test_fahrenheit_is_recognised_by_its_range() -> None:
    assert _vitals("fever (101)")["temp_c"] == pytest.approx(38.3, abs=0.05)


def test_implausible_numbers_are_not_proposed() -> None:
    found = _vitals("pain 8/10 for 3 days, temperature 3")
    assert "temp_c" not in found
    assert "sbp" not in found  # a pain score is not a blood pressure


def test_age_is_not_mistaken_for_a_duration() -> None:
    found = _vitals("A 48-year-old woman with 2 days of fever")
    assert found["age_years"] == 48
    assert found["duration_hours"] == 48
