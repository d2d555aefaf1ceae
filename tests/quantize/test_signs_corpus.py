"""The training sign corpus (issue 12): reproducible, labelled only with known signs, covering
every sign in every locale, and the committed file is exactly what the generator writes."""

from __future__ import annotations

import json
from functools import cache

from edgemed.protocol import triage_view
from quantize import signs_corpus
from quantize.signs_corpus import LOCALES, OUTPUT, Record, build, render


@cache
def _records() -> tuple[Record, ...]:
    return tuple(build())


def _vocabulary() -> set[str]:
    ids: set[str] = set()
    for protocol in ("sats-adult", "iitt-adult", "etat-child"):
        ids |= set(triage_view(protocol).findings)
    return ids


def test_same_seed_same_bytes_and_another_seed_differs() -> None:
    first = render(list(_records()))
    assert render(build()) == first
    assert render(build(seed=7)) != first


def test_committed_file_is_what_the_generator_writes() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(list(_records()))


def test_every_id_is_a_known_sign_and_labels_do_not_contradict() -> None:
    known = _vocabulary()
    assert set(signs_corpus.load_bank("en").nouns) == known  # the banks name every sign
    for line in OUTPUT.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"id", "locale", "text", "present", "absent", "hedged", "how"}
        present, absent, hedged = set(row["present"]), set(row["absent"]), set(row["hedged"])
        assert (present | absent | hedged) <= known, row["id"]
        assert not (present & absent or present & hedged or absent & hedged), row["id"]
        assert row["how"] in ("template", "handwritten", "translated")
        assert row["locale"] in LOCALES and row["id"].startswith(f"tr-{row['locale']}-")


def test_no_text_is_repeated() -> None:
    texts = [r.text for r in _records()]
    assert len(texts) == len(set(texts))
    assert len({r.id for r in _records()}) == len(texts)


def test_sizes_and_coverage_minima() -> None:
    records = _records()
    assert len(records) >= 3600
    known = _vocabulary()
    coverage = signs_corpus.coverage(list(records))
    for locale in LOCALES:
        mine = [r for r in records if r.locale == locale]
        assert len(mine) >= 550, locale
        for sign in known:
            assert coverage[locale]["present"].get(sign, 0) >= 15, (locale, sign)
            assert coverage[locale]["absent"].get(sign, 0) >= 5, (locale, sign)
        n = len(mine)
        negated = sum(bool(r.absent) for r in mine) / n
        hedged = sum(bool(r.hedged) for r in mine) / n
        distractor = sum(r.kind == "distractor" for r in mine) / n
        benign = sum(r.kind == "benign" for r in mine) / n
        assert 0.25 <= negated <= 0.40, (locale, negated)
        assert 0.07 <= hedged <= 0.15, (locale, hedged)
        assert 0.12 <= distractor <= 0.20, (locale, distractor)
        assert 0.07 <= benign <= 0.15, (locale, benign)
        assert all(not r.present for r in mine if r.kind == "benign")
        multi = sum(len(r.present) + len(r.absent) + len(r.hedged) >= 2 for r in mine) / n
        assert multi >= 0.5, (locale, multi)


def test_distractor_examples_are_labelled_as_near_misses() -> None:
    rows = [r for r in _records() if r.locale == "en" and "cough for two weeks, no blood" in r.text]
    assert rows and all("coughing_blood" in r.absent for r in rows)
    assert all("fever" not in r.present for r in _records() if "hay fever" in r.text)
