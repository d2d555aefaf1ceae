"""Method (a): lexicon words, negation and uncertainty cues, spans, in every shipped locale."""

from __future__ import annotations

import pytest

from edgemed.protocol import Category, Presence, available_protocols, load_protocol
from edgemed.understand import LEXICON, available_locales, load_lexicon, understand
from edgemed.understand.lexicon_method import propose_by_lexicon

SHIPPED = ["ar", "en", "es", "fr", "pt", "sw"]


def _presence(
    text: str, locale: str, finding: str, protocol: str = "iitt-adult"
) -> Presence | None:
    result = understand(text, locale, protocol, methods=(LEXICON,))
    for p in result.proposals:
        if p.finding_id == finding:
            assert result is not None
            assert text[p.span[0] : p.span[1]] == p.evidence
            return p.presence
    return None


def test_every_shipped_locale_has_a_lexicon() -> None:
    assert set(SHIPPED) <= set(available_locales())


@pytest.mark.parametrize("locale", SHIPPED)
def test_lexicon_ids_are_protocol_findings(locale: str) -> None:
    vocabulary = {fid for pid in available_protocols() for fid in load_protocol(pid).findings}
    unknown = load_lexicon(locale).finding_ids() - vocabulary
    assert not unknown, f"{locale}: lexicon keys that no protocol knows: {sorted(unknown)}"


def test_english_lexicon_covers_every_emergency_and_very_urgent_sign() -> None:
    words = load_lexicon("en").terms
    missing = sorted(
        fid
        for pid in available_protocols()
        for fid, d in load_protocol(pid).findings.items()
        if d.category in (Category.RED, Category.ORANGE) and not words.get(fid)
    )
    assert not missing


@pytest.mark.parametrize(
    ("locale", "text", "finding", "expected"),
    [
        ("en", "no fever", "fever", Presence.ABSENT),
        ("en", "He denies fever, chills or headache.", "headache", Presence.ABSENT),
        ("en", "no fever, but a stiff neck", "stiff_neck", Presence.PRESENT),
        ("en", "No cough. Fever since Monday.", "fever", Presence.PRESENT),
        ("en", "maybe a fever", "fever", Presence.UNKNOWN),
        ("en", "She is afebrile.", "fever", Presence.ABSENT),
        ("en", "fever (resolved)", "fever", Presence.ABSENT),
        ("fr", "pas de convulsions", "seizure_current", Presence.ABSENT),
        ("fr", "Il a des convulsions depuis ce matin", "seizure_current", Presence.PRESENT),
        ("fr", "peut-être de la fièvre", "fever", Presence.UNKNOWN),
        ("fr", "sans fievre", "fever", Presence.ABSENT),
        ("sw", "hana homa", "fever", Presence.ABSENT),
        ("sw", "ana homa kali", "fever", Presence.PRESENT),
        ("sw", "labda ana homa", "fever", Presence.UNKNOWN),
        ("es", "sin fiebre ni rigidez de nuca", "stiff_neck", Presence.ABSENT),
        ("es", "tiene fiebre", "fever", Presence.PRESENT),
        ("pt", "sem febre", "fever", Presence.ABSENT),
        ("pt", "não tem febre", "fever", Presence.ABSENT),
        ("ar", "لا يوجد حمى", "fever", Presence.ABSENT),
        ("ar", "عنده حُمّى شديدة", "fever", Presence.PRESENT),
        ("ar", "ربما حمى", "fever", Presence.UNKNOWN),
    ],
)
def test_negation_and_uncertainty(locale: str, text: str, finding: str, expected: Presence) -> None:
    assert _presence(text, locale, finding) is expected


@pytest.mark.parametrize(
    ("locale", "text", "finding"),
    [
        ("fr", "douleur thoracique depuis une heure", "chest_pain"),
        ("fr", "fievre et raideur de la nuque", "stiff_neck"),  # typed without accents
        ("es", "dolor en el pecho", "chest_pain"),
        ("pt", "dor no peito e falta de ar", "chest_pain"),
        ("sw", "anatapika kila kitu", "vomiting_persistent"),  # verb with subject prefix
        ("sw", "maumivu makali ya tumbo", "severe_pain"),
        ("ar", "وألم في الصدر", "chest_pain"),  # "and" glued to the word
        ("en", "crushing chest pain", "chest_pain"),
    ],
)
def test_lay_words_in_each_locale(locale: str, text: str, finding: str) -> None:
    assert _presence(text, locale, finding) is Presence.PRESENT


def test_spans_point_into_the_original_text_after_folding() -> None:
    text = "Élève: fièvre très forte, raideur de la nuque."
    proposals = propose_by_lexicon(text, load_lexicon("fr"))
    found = {p.finding_id: p for p in proposals}
    assert found["stiff_neck"].evidence == "raideur de la nuque"
    start, end = found["stiff_neck"].span
    assert text[start:end] == "raideur de la nuque"
    assert found["fever"].evidence == "fièvre"


def test_arabic_short_vowels_do_not_shift_spans() -> None:
    text = "المريض عنده صُداع وحُمّى"
    found = {p.finding_id: p for p in propose_by_lexicon(text, load_lexicon("ar"))}
    assert found["headache"].evidence == "صُداع"
    assert text[slice(*found["fever"].span)] == found["fever"].evidence


def test_phrases_that_only_look_like_a_finding_are_ignored() -> None:
    assert _presence("History of hay fever and eczema.", "en", "fever") is None


def test_only_the_protocols_findings_are_proposed() -> None:
    # Snake bite is an IITT sign; SATS has no such discriminator, but the safety net consults
    # IITT for every adult, so the app proposes it for a SATS patient too.
    assert _presence("bitten by a snake", "en", "snake_bite", "iitt-adult") is Presence.PRESENT
    assert _presence("bitten by a snake", "en", "snake_bite", "sats-adult") is Presence.PRESENT
    # ETAT (children) has no ECG sign and consults no other protocol.
    assert _presence("the ECG shows ST elevation", "en", "ecg_ischaemia", "sats-adult") is (
        Presence.PRESENT
    )
    assert _presence("the ECG shows ST elevation", "en", "ecg_ischaemia", "etat-child") is None


def test_signs_that_would_raise_the_category_come_first() -> None:
    result = understand(
        "Abdominal pain since yesterday, no fever, and now he is fitting.",
        "en",
        "sats-adult",
        methods=(LEXICON,),
    )
    ids = [p.finding_id for p in result.proposals]
    assert ids[0] == "seizure_current"  # red before yellow
    assert ids.index("abdominal_pain") < len(ids)
    assert result.proposals[-1].presence is Presence.ABSENT or "fever" not in ids


def test_unknown_locale_is_a_clear_error() -> None:
    from edgemed.errors import InputError

    with pytest.raises(InputError, match="No lexicon for language xx"):
        understand("fever", "xx", "sats-adult", methods=(LEXICON,))


def test_unknown_method_is_a_clear_error() -> None:
    from edgemed.errors import InputError

    with pytest.raises(InputError, match="Unknown understanding method"):
        understand("fever", "en", "sats-adult", methods=("telepathy",))
