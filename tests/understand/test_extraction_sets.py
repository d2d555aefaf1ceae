"""Extraction on the annotated sets: per locale, the lexicon and the combined methods.

The red-flag target (recall >= 0.9 in every shipped locale) is asserted here on the translated
Semigran vignettes and the lay complaints together. These sets were also used while writing the
lexicons, so the figures are in-sample: docs/evaluation.md says so next to them.
"""

from __future__ import annotations

import pytest

from edgemed.evaluation.end_to_end import _patient, _protocol_for
from edgemed.protocol import Category, Presence
from edgemed.understand import LEXICON, understand
from tests.understand.annotated import lay, translated

LOCALES = ["ar", "en", "es", "fr", "pt", "sw"]


def _scores(locale: str) -> tuple[float, float, float]:
    tp = fp = fn = red_tp = red_fn = 0
    for v in [*translated(), *lay()]:
        if v.locale != locale:
            continue
        protocol = _protocol_for(_patient(v.patient), None)
        result = understand(v.text, v.locale, protocol, methods=(LEXICON,))
        got = {p.finding_id for p in result.proposals if p.presence is Presence.PRESENT}
        gold = set(v.present) & set(protocol.findings)
        red = {f for f in gold if protocol.findings[f].category in (Category.RED, Category.ORANGE)}
        tp, fp, fn = tp + len(got & gold), fp + len(got - gold), fn + len(gold - got)
        red_tp, red_fn = red_tp + len(red & got), red_fn + len(red - got)
    return tp / (tp + fp), tp / (tp + fn), red_tp / (red_tp + red_fn)


@pytest.mark.parametrize("locale", LOCALES)
def test_lexicon_red_flag_recall_per_locale(locale: str) -> None:
    precision, recall, red_recall = _scores(locale)
    assert red_recall >= 0.9
    assert precision >= 0.8
    assert recall >= 0.8


def test_every_translation_is_annotated_in_every_locale() -> None:
    counts: dict[str, int] = {}
    for v in translated():
        counts[v.locale] = counts.get(v.locale, 0) + 1
        assert v.present or v.absent
    assert all(counts.get(loc, 0) >= 10 for loc in ["fr", "pt", "es", "sw", "ar"])


def test_annotated_evidence_is_in_the_text() -> None:
    from json import loads

    from tests.understand.annotated import DATA

    for name in ("semigran_translated.jsonl", "lay_complaints.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            record = loads(line)
            for item in record["findings"] + record["absent"]:
                assert item["evidence"] in record["text"], (record["id"], item)
