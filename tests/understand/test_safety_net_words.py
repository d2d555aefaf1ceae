"""The lay words for the safety-net signs of issue 11, in all six shipped languages.

Written from how patients and carers describe these signs, not from any evaluation set. Each
case names the protocol that has the sign: only a protocol's own findings are proposed.
"""

from __future__ import annotations

import pytest

from edgemed.protocol import Presence, load_protocol
from edgemed.understand import LEXICON, load_lexicon, understand

SHIPPED = ["ar", "en", "es", "fr", "pt", "sw"]
NET_IDS = [
    "headache",
    "stiff_neck",
    "fever",
    "fainting_recent",
    "snake_bite",
    "testicular_pain",
    "visual_disturbance",
    "visual_loss",
    "weak_fast_pulse",
    "cold_clammy_skin",
    "purpura",
    "anaphylaxis",
    "trismus",
    "labour_active",
    "abdominal_trauma",
    "cardiac_arrest",
    "high_energy_transfer",
    "burn_over_20_percent",
    "eye_injury",
    "very_hot",
    "urgent_surgical_condition",
]


def _presence(text: str, locale: str, finding: str, protocol: str) -> Presence | None:
    result = understand(text, locale, protocol, methods=(LEXICON,))
    for p in result.proposals:
        if p.finding_id == finding:
            assert text[p.span[0] : p.span[1]] == p.evidence
            return p.presence
    return None


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_safety_net_sign_has_words_in_every_language(locale: str) -> None:
    terms = load_lexicon(locale).terms
    assert [fid for fid in NET_IDS if not terms.get(fid)] == []


def test_the_protocols_name_the_new_signs() -> None:
    iitt = load_protocol("iitt-adult").findings
    etat = load_protocol("etat-child").findings
    for fid in ("anaphylaxis", "cold_clammy_skin", "purpura", "trismus", "eye_injury"):
        assert fid in iitt
    for fid in ("visual_loss", "abdominal_trauma", "burn_over_20_percent"):
        assert fid in iitt
    for fid in ("purpura", "very_hot", "urgent_surgical_condition", "anaphylaxis", "trismus"):
        assert fid in etat


IITT, ETAT = "iitt-adult", "etat-child"


@pytest.mark.parametrize(
    ("locale", "text", "finding", "protocol"),
    [
        # English
        ("en", "fever, stiff neck and the light hurts his eyes", "stiff_neck", IITT),
        ("en", "he can't bend his neck", "stiff_neck", IITT),
        ("en", "collapsed and not breathing", "cardiac_arrest", IITT),
        ("en", "her heart stopped", "cardiac_arrest", IITT),
        ("en", "hit by a car on the main road", "high_energy_transfer", IITT),
        ("en", "motorbike crash this morning", "high_energy_transfer", IITT),
        ("en", "fell from a roof", "high_energy_transfer", IITT),
        ("en", "stabbed in the belly last night", "abdominal_trauma", IITT),
        ("en", "lockjaw since he stepped on a nail", "trismus", IITT),
        ("en", "he can't open his mouth, jaw is stiff", "trismus", IITT),
        ("en", "a rash that doesn't fade under a glass", "purpura", IITT),
        ("en", "purple spots on the legs", "purpura", IITT),
        ("en", "dark spots under the skin", "purpura", ETAT),
        ("en", "lips swelling and throat closing after peanuts", "anaphylaxis", IITT),
        ("en", "throat is tight after a bee sting", "anaphylaxis", IITT),
        ("en", "sweaty and cold", "cold_clammy_skin", IITT),
        ("en", "cold and clammy", "cold_clammy_skin", IITT),
        ("en", "passed out at the market", "fainting_recent", IITT),
        ("en", "blacked out twice", "fainting_recent", IITT),
        ("en", "bitten by a snake in the field", "snake_bite", IITT),
        ("en", "pain in the testicle since this morning", "testicular_pain", IITT),
        ("en", "scrotum swollen and painful", "testicular_pain", ETAT),
        ("en", "went blind in the left eye", "visual_loss", IITT),
        ("en", "can't see out of one eye", "visual_loss", IITT),
        ("en", "blurred vision and seeing spots", "visual_disturbance", IITT),
        ("en", "waters broke an hour ago", "labour_active", IITT),
        ("en", "contractions every five minutes", "labour_active", IITT),
        ("en", "burning hot to the touch", "very_hot", ETAT),
        ("en", "very hot to touch", "very_hot", ETAT),
        ("en", "pulse is weak and fast", "weak_fast_pulse", IITT),
        ("en", "something in the eye after grinding metal", "eye_injury", IITT),
        ("en", "suspected appendicitis", "urgent_surgical_condition", ETAT),
        ("en", "burns all over the body", "burn_over_20_percent", IITT),
        ("en", "pounding headache", "headache", IITT),
        ("en", "running a fever", "fever", IITT),
        # French
        ("fr", "nuque raide et forte fièvre", "stiff_neck", IITT),
        ("fr", "arrêt cardiaque, massage cardiaque en cours", "cardiac_arrest", IITT),
        ("fr", "renversé par une voiture", "high_energy_transfer", IITT),
        ("fr", "coup de couteau dans le ventre", "abdominal_trauma", IITT),
        ("fr", "il ne peut pas ouvrir la bouche", "trismus", IITT),
        ("fr", "taches violettes qui ne s'effacent pas", "purpura", ETAT),
        ("fr", "lèvres gonflées, gorge qui se serre", "anaphylaxis", IITT),
        ("fr", "sueurs froides", "cold_clammy_skin", IITT),
        ("fr", "il est tombé dans les pommes", "fainting_recent", IITT),
        ("fr", "mordu par une vipère", "snake_bite", IITT),
        ("fr", "bourses gonflées et douloureuses", "testicular_pain", IITT),
        ("fr", "il ne voit plus rien de l'œil droit", "visual_loss", IITT),
        ("fr", "elle a perdu les eaux", "labour_active", IITT),
        ("fr", "l'enfant est brûlant de fièvre", "very_hot", ETAT),
        ("fr", "coup dans l'œil", "eye_injury", IITT),
        ("fr", "hernie étranglée", "urgent_surgical_condition", ETAT),
        # Spanish
        ("es", "cuello duro y fiebre alta", "stiff_neck", IITT),
        ("es", "no tiene pulso", "cardiac_arrest", IITT),
        ("es", "lo atropelló un carro", "high_energy_transfer", IITT),
        ("es", "puñalada en la barriga", "abdominal_trauma", IITT),
        ("es", "no puede abrir la boca", "trismus", IITT),
        ("es", "manchas moradas que no desaparecen", "purpura", IITT),
        ("es", "se le cierra la garganta", "anaphylaxis", IITT),
        ("es", "sudor frío", "cold_clammy_skin", IITT),
        ("es", "se desmayó en la iglesia", "fainting_recent", IITT),
        ("es", "lo mordió una culebra", "snake_bite", IITT),
        ("es", "le duelen los testículos", "testicular_pain", IITT),
        ("es", "se quedó ciego", "visual_loss", IITT),
        ("es", "se le rompió la fuente", "labour_active", IITT),
        ("es", "está ardiendo en fiebre", "very_hot", ETAT),
        ("es", "golpe en el ojo", "eye_injury", IITT),
        ("es", "apendicitis", "urgent_surgical_condition", ETAT),
        # Portuguese
        ("pt", "pescoço duro e febre", "stiff_neck", IITT),
        ("pt", "o coração parou de bater", "cardiac_arrest", IITT),
        ("pt", "acidente de mota", "high_energy_transfer", IITT),
        ("pt", "facada na barriga", "abdominal_trauma", IITT),
        ("pt", "não consegue abrir a boca", "trismus", IITT),
        ("pt", "manchas roxas que não desaparecem", "purpura", IITT),
        ("pt", "lábios inchados e garganta a fechar", "anaphylaxis", IITT),
        ("pt", "suores frios", "cold_clammy_skin", IITT),
        ("pt", "desmaiou no autocarro", "fainting_recent", IITT),
        ("pt", "picada de cobra no pé", "snake_bite", IITT),
        ("pt", "escroto inchado e doloroso", "testicular_pain", IITT),
        ("pt", "ficou cego de repente", "visual_loss", IITT),
        ("pt", "a bolsa rompeu", "labour_active", IITT),
        ("pt", "a criança está muito quente", "very_hot", ETAT),
        ("pt", "entrou algo no olho", "eye_injury", IITT),
        ("pt", "hérnia estrangulada", "urgent_surgical_condition", ETAT),
        # Swahili
        ("sw", "ana homa na shingo ngumu", "stiff_neck", IITT),
        ("sw", "moyo umesimama", "cardiac_arrest", IITT),
        ("sw", "amegongwa na gari", "high_energy_transfer", IITT),
        ("sw", "ajali ya bodaboda", "high_energy_transfer", IITT),
        ("sw", "amechomwa kisu tumboni", "abdominal_trauma", IITT),
        ("sw", "hawezi kufungua mdomo", "trismus", IITT),
        ("sw", "madoa ya zambarau", "purpura", ETAT),
        ("sw", "midomo imevimba na koo linabana", "anaphylaxis", IITT),
        ("sw", "jasho la baridi", "cold_clammy_skin", IITT),
        ("sw", "alizimia sokoni", "fainting_recent", IITT),
        ("sw", "kuumwa na nyoka", "snake_bite", IITT),
        ("sw", "korodani inauma", "testicular_pain", IITT),
        ("sw", "amepofuka ghafla", "visual_loss", IITT),
        ("sw", "maji yamepasuka", "labour_active", IITT),
        ("sw", "mwili una joto sana", "very_hot", ETAT),
        ("sw", "kitu kimeingia jichoni", "eye_injury", IITT),
        ("sw", "anahitaji upasuaji", "urgent_surgical_condition", ETAT),
        # Arabic
        ("ar", "حمى وتيبس الرقبة", "stiff_neck", IITT),
        ("ar", "قلبه وقف", "cardiac_arrest", IITT),
        ("ar", "دهسته سيارة", "high_energy_transfer", IITT),
        ("ar", "طعنة في البطن", "abdominal_trauma", IITT),
        ("ar", "لا يستطيع فتح فمه", "trismus", IITT),
        ("ar", "بقع بنفسجية لا تختفي عند الضغط", "purpura", ETAT),
        ("ar", "تورم الشفتين وضيق في الحلق", "anaphylaxis", IITT),
        ("ar", "عرق بارد", "cold_clammy_skin", IITT),
        ("ar", "أغمي عليه في البيت", "fainting_recent", IITT),
        ("ar", "لدغة ثعبان", "snake_bite", IITT),
        ("ar", "ألم في الخصية", "testicular_pain", IITT),
        ("ar", "فقد البصر فجأة", "visual_loss", IITT),
        ("ar", "نزلت المياه", "labour_active", IITT),
        ("ar", "جسمه ساخن جدا", "very_hot", ETAT),
        ("ar", "جسم غريب في العين", "eye_injury", IITT),
        ("ar", "التهاب الزائدة", "urgent_surgical_condition", ETAT),
    ],
)
def test_lay_words_propose_the_sign(locale: str, text: str, finding: str, protocol: str) -> None:
    assert _presence(text, locale, finding, protocol) is Presence.PRESENT


@pytest.mark.parametrize(
    ("locale", "text", "finding"),
    [
        ("en", "no stiff neck", "stiff_neck"),
        ("en", "no purple spots", "purpura"),
        ("en", "denies fainting", "fainting_recent"),
        ("fr", "pas de raideur de la nuque", "stiff_neck"),
        ("es", "sin manchas moradas", "purpura"),
        ("pt", "sem febre", "fever"),
        ("sw", "hana homa", "fever"),
        ("sw", "hakuzimia", "fainting_recent"),
        ("ar", "لا يوجد تيبس الرقبة", "stiff_neck"),
    ],
)
def test_negation_still_works_for_the_new_words(locale: str, text: str, finding: str) -> None:
    assert _presence(text, locale, finding, IITT) in (Presence.ABSENT, None)


def test_a_tetanus_vaccination_is_not_tetanus() -> None:
    assert _presence("had a tetanus booster last year", "en", "trismus", IITT) is None
    assert _presence("chanjo ya pepopunda", "sw", "trismus", IITT) is None
    assert _presence("vaccin antitétanique à jour", "fr", "trismus", IITT) is None
