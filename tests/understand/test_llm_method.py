"""Method (c) on the real default model (SmolLM2-135M through the catalog, llama.cpp).

Kept to a few questions: each costs a forward pass. What the method is worth is measured in
docs/evaluation.md, not asserted here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edgemed.inference.engine import EngineSettings, NoEngine
from edgemed.inference.llama import LlamaCppEngine
from edgemed.protocol import Presence, load_protocol
from edgemed.understand import LEXICON, LLM, load_lexicon, understand
from edgemed.understand.llm_method import STRATEGIES, propose_by_llm
from tests.inference.model_cache import install_default_once

NOTE = "Crushing chest pain for an hour and he is short of breath."
ASK = ["chest_pain", "seizure_current", "vomiting_blood"]


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    installed = install_default_once()
    engine = LlamaCppEngine(
        installed.entry_point,
        EngineSettings(threads=2, context=2048),
        model_id=installed.artifact.id,
        family=installed.artifact.family,
        template_name=installed.artifact.chat_template,
    )
    engine.load()
    yield engine
    engine.close()


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["calibrated", "json"])
def test_proposes_only_present_protocol_findings_and_repeats_itself(
    engine: LlamaCppEngine, strategy: str
) -> None:
    protocol = load_protocol("sats-adult")
    lexicon = load_lexicon("en")
    proposals = propose_by_llm(NOTE, protocol, engine, lexicon, strategy, ASK)
    for p in proposals:
        assert p.finding_id in ASK
        assert p.presence is Presence.PRESENT  # a model never proposes a denial
        assert p.method == LLM
        assert 0.0 <= p.confidence <= 1.0
        assert NOTE[p.span[0] : p.span[1]] == p.evidence
    # Greedy scoring on the same prompt is deterministic (the calibration baseline is cached).
    assert propose_by_llm(NOTE, protocol, engine, lexicon, strategy, ASK) == proposals


def test_every_measured_strategy_is_known() -> None:
    assert set(STRATEGIES) == {"calibrated", "naive", "fewshot", "json"}


def test_without_a_model_the_llm_method_is_skipped_not_an_error() -> None:
    with_llm = understand(NOTE, "en", "sats-adult", engine=NoEngine(), methods=(LEXICON, LLM))
    lexicon_only = understand(NOTE, "en", "sats-adult", methods=(LEXICON,))
    assert with_llm == lexicon_only
    assert "chest_pain" in with_llm.present_ids()


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="telepathy"):
        propose_by_llm(
            NOTE, load_protocol("sats-adult"), NoEngine(), load_lexicon("en"), "telepathy"
        )
