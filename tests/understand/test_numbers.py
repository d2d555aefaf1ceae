"""Numbers in the text become proposed vitals, each with the span it came from."""

from __future__ import annotations

import pytest

from edgemed.protocol import Presence
from edgemed.understand import LEXICON, load_lexicon, understand
from edgemed.understand.numbers import find_burn_percent, find_vitals


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
        ("ar", "طفلة عمرها ٦ اشهر، الحرارة ٣٩", {"age_months": 6, "temp_c": 39}),
    ],
)
def test_measurements_in_each_locale(locale: str, text: str, expected: dict[str, float]) -> None:
    found = _vitals(text, locale)
    # Nothing more is proposed: an age read as a pulse, or a pulse read twice, fails here too.
    assert sorted(found) == sorted(expected), found
    for field, value in expected.items():
        assert found[field] == pytest.approx(value, abs=0.05), (field, found)


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


# ---- Burns given as a share of the body surface -> burn_over_20_percent (issue 11) ----------


def _burn(text: str, locale: str = "en") -> Presence | None:
    found = find_burn_percent(text, load_lexicon(locale))
    assert len(found) <= 1
    for p in found:
        assert p.finding_id == "burn_over_20_percent"
        assert text[p.span[0] : p.span[1]] == p.evidence
        return p.presence
    return None


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "burns over 30% of the body"),
        ("en", "30% burns to the chest and arms"),
        ("en", "scalded, about 45 percent of his body"),
        ("en", "burns covering 20% of the body"),  # 20 itself: the more urgent reading
        ("fr", "brûlure de 25 % de la surface corporelle"),
        ("fr", "brulures sur 60 pour cent du corps"),
        ("es", "quemaduras en el 40% del cuerpo"),
        ("pt", "queimaduras em 30% do corpo"),
        ("sw", "ameungua asilimia 30 ya mwili"),
        ("sw", "kuungua 35% ya mwili"),
        ("ar", "حروق بنسبة ٣٠٪ من الجسم"),
        ("ar", "حروق 40 بالمئة"),
    ],
)
def test_a_burn_of_twenty_percent_or_more_is_proposed(locale: str, text: str) -> None:
    assert _burn(text, locale) is Presence.PRESENT


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "burns over 19% of the body"),
        ("en", "a 10% burn on the leg"),
        ("en", "burn to the hand. SpO2 95%"),  # the number belongs to another sentence
        ("en", "SpO2 88%"),  # no burn word at all
        ("fr", "brûlure de 15 % du corps"),
        ("es", "quemadura del 5%"),
        ("sw", "ameungua asilimia 10"),
        ("ar", "حروق 10% فقط"),
    ],
)
def test_a_burn_under_twenty_percent_proposes_nothing(locale: str, text: str) -> None:
    assert _burn(text, locale) is None


def test_a_denied_burn_percentage_is_proposed_as_absent() -> None:
    assert _burn("no burns over 30% of the body") is Presence.ABSENT


def test_the_burn_percentage_is_not_a_vital() -> None:
    assert _vitals("burns over 30% of the body, SpO2 96%") == {"spo2": 96}


@pytest.mark.parametrize("protocol", ["sats-adult", "iitt-adult", "etat-child"])
def test_understand_proposes_the_large_burn_in_every_protocol(protocol: str) -> None:
    result = understand("burns over 30% of the body", "en", protocol, methods=(LEXICON,))
    assert "burn_over_20_percent" in result.present_ids()
    small = understand("burns over 10% of the body", "en", protocol, methods=(LEXICON,))
    assert "burn_over_20_percent" not in small.present_ids()
