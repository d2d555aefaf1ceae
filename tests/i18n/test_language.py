"""Language at runtime: switching without a restart, numbers and dates, right-to-left text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import arabic_reshaper
import pytest

from edgemed import i18n
from edgemed.i18n import _


@pytest.fixture(autouse=True)
def _back_to_english() -> Iterator[None]:
    yield
    i18n.set_language("en")


def _compiled(language: str) -> None:
    if language not in i18n.available_languages():
        pytest.fail(f"no compiled catalog for {language}: run `make i18n` (or the install)")


def test_language_switches_at_runtime() -> None:
    for language, word in (("fr", "Réglages"), ("sw", "Mipangilio"), ("es", "Ajustes")):
        _compiled(language)
        assert i18n.set_language(language) == language
        assert _("Settings") == word
    i18n.set_language("en")
    assert _("Settings") == "Settings"


def test_an_unknown_language_falls_back_to_english() -> None:
    assert i18n.set_language("xx") == "en"
    assert _("Settings") == "Settings"


def test_protocol_texts_translate_including_percent_signs() -> None:
    _compiled("fr")
    i18n.set_language("fr")
    assert i18n.protocol_text("Chest pain") == "Douleur thoracique"
    assert i18n.protocol_text("Burn over 20% of the body") == "Brûlure de plus de 20 % du corps"
    assert i18n.protocol_text("A text no catalog has, 5%") == "A text no catalog has, 5%"


def test_numbers_and_dates_follow_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    moment = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    i18n.set_language("en")
    assert i18n.format_number(37.5) == "37.5"
    assert i18n.format_time(moment, with_date=True) == "3/2/26, 9:30\u202fAM"
    _compiled("fr")
    i18n.set_language("fr")
    assert i18n.format_number(37.5) == "37,5"
    assert i18n.format_time(moment, with_date=True) == "02/03/2026 09:30"
    assert i18n.format_time(moment) == "09:30"


def test_arabic_is_shaped_and_reordered_for_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    _compiled("ar")
    i18n.set_language("ar")
    text = _("Settings")
    assert text == "الإعدادات"
    shown = i18n.display(text)
    # Letters joined into their presentation forms, and laid out right to left: a word of
    # Arabic letters only is its shaped form read backwards.
    assert all("\ufe70" <= c <= "\ufeff" for c in shown)
    assert shown == arabic_reshaper.reshape(text)[::-1]
    monkeypatch.setenv("EDGEMED_BIDI", "terminal")
    assert i18n.display(text) == text
    i18n.set_language("fr")
    assert i18n.display("Réglages") == "Réglages"


def test_review_status_and_language_names() -> None:
    assert i18n.review_status("en") == "source"
    assert i18n.review_status("fr") == "drafted"
    assert i18n.review_status("xx") == "missing"
    assert i18n.language_name("sw") == "Kiswahili"
    assert i18n.language_name("fr") == "Français"
