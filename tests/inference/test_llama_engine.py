"""The llama.cpp engine on the real default model (SmolLM2 135M Q4_1), installed via the catalog."""

from __future__ import annotations

import importlib.metadata
import math
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from edgemed.catalog import InstalledModel
from edgemed.inference import (
    ChatMessage,
    EngineError,
    EngineSettings,
    NoEngine,
    NoModelError,
    open_default_engine,
    open_engine,
)
from edgemed.inference.llama import LlamaCppEngine
from tests.inference.model_cache import use_shared_models

QUESTION = [ChatMessage("user", "Name three signs of dehydration in a child.")]
LONG_NOTE = " ".join(
    ["The patient is a 34 year old woman with two days of fever, cough and aches."] * 85
)


def test_stream_is_greedy_and_repeatable(smollm: LlamaCppEngine) -> None:
    pieces = list(smollm.stream_chat(QUESTION, max_tokens=24))
    assert len(pieces) > 5 and all(isinstance(p, str) for p in pieces)
    text = "".join(pieces)
    assert text.strip() and "<|im_end|>" not in text
    assert smollm.complete(QUESTION, max_tokens=24) == text
    stats = smollm.last_generation
    assert stats is not None and not stats.cancelled
    assert 0 < stats.generated_tokens <= 24 and stats.prompt_tokens > 10
    assert 0 < stats.first_token_s <= stats.total_s


def test_max_tokens_bounds_the_reply(smollm: LlamaCppEngine) -> None:
    short = smollm.complete(QUESTION, max_tokens=3)
    assert 0 < len(smollm.tokenize(short)) <= 4


def test_score_prefers_the_plausible_continuation(smollm: LlamaCppEngine) -> None:
    scores = smollm.score(
        "The capital city of France is", [" Paris", " banana", " the city of Paris"]
    )
    assert all(math.isfinite(v) and v < 0 for v in scores.values())
    assert scores[" Paris"] > scores[" banana"] + 3
    # Longer candidates add log-probabilities: never more probable than their first token alone.
    assert scores[" the city of Paris"] < 0


def test_score_on_a_chat_is_consistent_with_generation(smollm: LlamaCppEngine) -> None:
    chat = [ChatMessage("user", "Is water wet? Answer with one word.")]
    first_word = smollm.complete(chat, max_tokens=1)
    scores = smollm.score(chat, [first_word, "Zebra"])
    assert scores[first_word] > scores["Zebra"]


def test_json_matches_the_schema(smollm: LlamaCppEngine) -> None:
    schema = {
        "type": "object",
        "properties": {
            "fever": {"type": "boolean"},
            "breathing": {"type": "string", "enum": ["normal", "fast", "absent"]},
        },
        "required": ["fever", "breathing"],
        "additionalProperties": False,
    }
    chat = [ChatMessage("user", "Note: temperature 39.4 C, breathing 40/min. Fill the form.")]
    value = smollm.json(chat, schema)
    assert set(value) == {"fever", "breathing"}
    assert isinstance(value["fever"], bool) and value["breathing"] in {"normal", "fast", "absent"}


def test_a_bad_schema_is_an_engine_error(smollm: LlamaCppEngine) -> None:
    with pytest.raises(EngineError):
        smollm.json(QUESTION, {"type": "object", "properties": {"x": {"$ref": "#/nowhere"}}})


def _stop_after(engine: LlamaCppEngine, delay: float, run: Iterator[str]) -> tuple[float, str]:
    """Consume ``run`` in a worker; cancel after ``delay``; return (seconds to stop, text)."""
    result: dict[str, str] = {}
    worker = threading.Thread(target=lambda: result.setdefault("text", "".join(run)))
    worker.start()
    time.sleep(delay)
    asked = time.perf_counter()
    engine.cancel()
    worker.join(timeout=5)
    assert not worker.is_alive()
    return time.perf_counter() - asked, result["text"]


def test_cancel_during_a_long_prompt(smollm: LlamaCppEngine) -> None:
    before = smollm.complete(QUESTION, max_tokens=24)  # greedy: what a working engine says again
    note = [ChatMessage("user", LONG_NOTE)]
    tokens = len(smollm.tokenize(smollm.render(note), special=True))
    assert tokens > 1400, "the prompt must take far longer than the cancel budget to read"
    stopped_in, text = _stop_after(smollm, 0.3, smollm.stream_chat(note, max_tokens=50))
    assert stopped_in < 0.2
    assert text == ""  # stopped before the first token: the prompt was still being read
    assert smollm.last_generation is not None and smollm.last_generation.cancelled
    assert smollm.last_generation.generated_tokens == 0
    # The engine is usable afterwards, and gives the same reply as BEFORE the cancel (two
    # replies after it could agree on being broken, e.g. both empty).
    assert smollm.complete(QUESTION, max_tokens=24) == before != ""


def test_cancel_during_generation(smollm: LlamaCppEngine) -> None:
    before = smollm.complete(QUESTION, max_tokens=24)
    chat = [ChatMessage("user", "Write a long story about a clinic in the mountains.")]
    stopped_in, text = _stop_after(
        smollm, 0.8, smollm.stream_chat(chat, max_tokens=2000, temperature=0.7)
    )
    assert stopped_in < 0.2
    assert text  # some of the story came before the stop
    assert smollm.complete(QUESTION, max_tokens=24) == before != ""  # as before the cancel


def test_cancel_by_event(smollm: LlamaCppEngine) -> None:
    stop = threading.Event()
    pieces: list[str] = []
    for piece in smollm.stream_chat(QUESTION, max_tokens=200, cancel=stop):
        pieces.append(piece)
        if len(pieces) == 3:
            stop.set()
    assert len(pieces) == 3


def test_prompt_longer_than_the_context_is_refused(smollm: LlamaCppEngine) -> None:
    with pytest.raises(EngineError, match="too long"):
        smollm.complete([ChatMessage("user", LONG_NOTE * 3)], max_tokens=10)


def test_open_engine_by_id(default_model: InstalledModel, monkeypatch: pytest.MonkeyPatch) -> None:
    use_shared_models(monkeypatch)
    engine = open_engine("default", EngineSettings(threads=2, context=1024))
    try:
        assert engine.available and engine.info.model_id == default_model.artifact.id
        assert engine.info.context == 1024 and engine.info.format == "gguf"
        assert engine.complete(QUESTION, max_tokens=5)
    finally:
        engine.close()


def test_rules_only_mode_without_a_model(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(tmp_path))
    engine = open_default_engine(EngineSettings(threads=1))
    assert isinstance(engine, NoEngine) and not engine.available
    with pytest.raises(NoModelError, match="rules-only"):
        engine.stream_chat(QUESTION)
    with pytest.raises(NoModelError):
        engine.score("x", ["y"])
    with pytest.raises(NoModelError):
        engine.json(QUESTION, {"type": "object"})


def test_default_engine_takes_its_settings_from_the_doctor(
    default_model: InstalledModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgemed.hardware import advice_for, gather_facts
    from edgemed.inference.opening import llama_build

    use_shared_models(monkeypatch)
    engine = open_default_engine()
    try:
        advice = advice_for(gather_facts(*llama_build()))
        assert engine.info.model_id == default_model.artifact.id
        assert engine.info.threads == advice.threads
        assert engine.info.context == min(advice.context, default_model.artifact.context)
        assert engine.info.gpu_layers == advice.gpu_layers
    finally:
        engine.close()


def test_scoring_does_not_disturb_the_next_generation(smollm: LlamaCppEngine) -> None:
    reference = smollm.complete(QUESTION, max_tokens=12)
    smollm.score(QUESTION, ["Dry mouth, sunken eyes", "Zebra crossing"])
    assert smollm.complete(QUESTION, max_tokens=12) == reference


# What the engine on llama-cpp-python's `Llama.generate` replied before the loop moved to
# llama.cpp's C API (same file, 2 threads, context 2048, flash attention off): the move must not
# change a word.
PREVIOUS_ENGINE_REPLIES = {
    "Name three signs of dehydration in a child.": (
        "1. Dry, light-colored urine\n2. Dry, light-colored stool\n"
        "3. Dry, light-colored stool with a high content of blood"
    ),
    "What is malaria? Answer in two sentences.": (
        "Malaria is a parasitic disease caused by the Plasmodium parasite that affects red blood "
        "cells, leading to symptoms like fever, chills, and fatigue."
    ),
}
# With flash attention on (EDGEMED_FLASH_ATTN=on; recorded 2026-12-01): it sums in another order,
# the same words for the first ~80 characters here, and a mean KLD of 0.0045 from the flash-off
# logits over the quality-gate prompts (docs/inference.md).
FLASH_REPLIES = {
    "Name three signs of dehydration in a child.": (
        "1. Dry, light-colored urine\n2. Dry, light-colored stool\n"
        "3. Dry, light-colored stool with a white crust\n\nThese signs can indicate dehydration, "
        "which can be serious and can be fatal if not treated promptly."
    ),
    "What is malaria? Answer in two sentences.": (
        "Malaria is a parasitic disease caused by the Plasmodium parasite that affects red blood "
        "cells. It is a major public health issue worldwide, particularly in Africa, where it is "
        "a major vector-borne disease."
    ),
}
_RECORDED = pytest.mark.skipif(
    importlib.metadata.version("llama_cpp_python") != "0.3.36",
    reason="recorded with the llama.cpp that llama-cpp-python 0.3.36 vendors",
)


@_RECORDED
def test_greedy_replies_are_the_previous_engines(smollm: LlamaCppEngine) -> None:
    for question, reply in PREVIOUS_ENGINE_REPLIES.items():
        assert smollm.complete([ChatMessage("user", question)], max_tokens=64) == reply
    scores = smollm.score("The capital city of France is", [" Paris", " banana"])
    assert scores[" Paris"] == pytest.approx(-0.44988, abs=1e-4)
    assert scores[" banana"] == pytest.approx(-17.96574, abs=1e-4)


@_RECORDED
def test_with_flash_attention_the_replies_are_pinned_too(
    default_model: InstalledModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llama_cpp

    import edgemed.inference.llama as llama_module

    monkeypatch.setattr(llama_module, "FLASH_ATTENTION", llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED)
    engine = LlamaCppEngine(default_model.entry_point, EngineSettings(threads=2, context=2048))
    try:
        for question, reply in FLASH_REPLIES.items():
            assert engine.complete([ChatMessage("user", question)], max_tokens=64) == reply
        scores = engine.score("The capital city of France is", [" Paris", " banana"])
        assert scores[" Paris"] == pytest.approx(-0.39764, abs=1e-4)
        assert scores[" banana"] == pytest.approx(-18.03400, abs=1e-4)
    finally:
        engine.close()


def test_run_tokens_and_log_probs(smollm: LlamaCppEngine) -> None:
    tokens = smollm.tokenize(LONG_NOTE)[:40]
    stats = smollm.run_tokens(tokens, 6, ignore_end=True)
    assert stats.prompt_tokens == 40 and stats.generated_tokens == 6
    assert 0 < stats.first_token_s < stats.total_s
    rows = smollm.log_probs(tokens)
    assert rows.shape == (40, smollm._n_vocab)
    assert abs(float(np.exp(rows[-1]).sum()) - 1) < 1e-6
    # The engine goes on as before after measuring (its cache was replaced, not corrupted).
    assert smollm.complete(QUESTION, max_tokens=24) == smollm.complete(QUESTION, max_tokens=24)
    with pytest.raises(EngineError):
        smollm.log_probs([])


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("off", "DISABLED"), ("on", "ENABLED"), ("auto", "AUTO"), ("yes", "DISABLED")],
)
def test_the_deployer_can_set_flash_attention(setting: str, expected: str) -> None:
    import os
    import subprocess
    import sys

    import llama_cpp

    code = "import edgemed.inference.llama as m; print(m.FLASH_ATTENTION)"
    env = dict(os.environ, EDGEMED_FLASH_ATTN=setting)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout.strip()) == getattr(llama_cpp, f"LLAMA_FLASH_ATTN_TYPE_{expected}")
