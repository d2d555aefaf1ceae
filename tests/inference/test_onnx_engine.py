"""The onnxruntime engine on a tiny model exported at test time: logits equal PyTorch's."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from edgemed.inference import ChatMessage, EngineError, EngineSettings, open_engine
from edgemed.inference.onnx import OnnxEngine
from tests.inference.tiny_onnx import TinyModel

CHAT = [ChatMessage("user", "The patient has a fever and a cough.")]


@pytest.fixture(scope="module")
def engine(tiny_model: TinyModel) -> OnnxEngine:
    engine = OnnxEngine(tiny_model.onnx, EngineSettings(threads=1, context=1024), family="llama")
    engine.load()
    return engine


def _torch_logits(tiny_model: TinyModel, ids: list[int]) -> np.ndarray:
    import torch
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(tiny_model.source).eval()
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].numpy()
    return np.asarray(logits)


def test_logits_match_pytorch_with_and_without_the_kv_cache(
    engine: OnnxEngine, tiny_model: TinyModel
) -> None:
    assert engine._tokenizer is not None
    ids = engine._tokenizer.encode(engine.render(CHAT), add_special_tokens=False).ids
    expected = _torch_logits(tiny_model, ids)
    whole, _past = engine.forward(ids, engine._empty_past(), 0)
    assert np.abs(whole - expected).max() < 1e-4
    # Prompt first, then one token at a time through the cache: the same numbers.
    split = len(ids) - 3
    first, past = engine.forward(ids[:split], engine._empty_past(), 0)
    steps = [first[-1]]
    for position in range(split, len(ids)):
        step, past = engine.forward([ids[position]], past, position)
        steps.append(step[-1])
    assert np.abs(np.stack(steps[:-1]) - expected[split - 1 : -1]).max() < 1e-4
    assert np.abs(steps[-1] - expected[-1]).max() < 1e-4


def test_greedy_stream_follows_the_argmax(engine: OnnxEngine, tiny_model: TinyModel) -> None:
    assert engine._tokenizer is not None
    text = "".join(engine.stream_chat(CHAT, max_tokens=8))
    ids = engine._tokenizer.encode(engine.render(CHAT), add_special_tokens=False).ids
    # Re-derive the first greedy token from PyTorch and check the stream starts with it.
    first = int(np.argmax(_torch_logits(tiny_model, ids)[-1]))
    if first not in engine._end_ids:
        assert text.startswith(engine._tokenizer.decode([first]))
    assert engine.complete(CHAT, max_tokens=8) == text


def test_score_matches_a_full_forward(engine: OnnxEngine) -> None:
    assert engine._tokenizer is not None
    prompt = engine.render(CHAT)
    scores = engine.score(CHAT, ["yes", "no fever", "Temperature 39"])
    for candidate, value in scores.items():
        ids = engine._tokenizer.encode(prompt, add_special_tokens=False).ids
        extra = engine._tokenizer.encode(candidate, add_special_tokens=False).ids
        logits, _past = engine.forward(ids + extra, engine._empty_past(), 0)
        reference = 0.0
        for i, token in enumerate(extra):
            row = logits[len(ids) - 1 + i].astype(np.float64)
            reference += row[token] - row.max() - math.log(np.exp(row - row.max()).sum())
        assert value == pytest.approx(reference, abs=1e-4)


def test_json_stays_inside_the_schema(engine: OnnxEngine) -> None:
    schema = {
        "type": "object",
        "properties": {
            "fever": {"type": "boolean"},
            "breathing": {"enum": ["normal", "fast"]},
            "vitals": {"type": "object", "properties": {"taken": {"type": "boolean"}}},
        },
    }
    value = engine.json(CHAT, schema)
    assert isinstance(value["fever"], bool) and value["breathing"] in ("normal", "fast")
    assert isinstance(value["vitals"]["taken"], bool)
    with pytest.raises(EngineError, match="GGUF"):
        engine.json(CHAT, {"type": "object", "properties": {"note": {"type": "string"}}})


def test_cancel_ends_generation_quickly_and_engine_stays_usable(engine: OnnxEngine) -> None:
    before = engine.complete(CHAT, max_tokens=4)  # greedy: what a working engine says again
    # The random model rarely ends by itself, so this generation would run for a long while.
    result: dict[str, str] = {}
    worker = threading.Thread(
        target=lambda: result.setdefault(
            "text", "".join(engine.stream_chat(CHAT, max_tokens=900, temperature=1.0))
        )
    )
    worker.start()
    time.sleep(0.3)
    asked = time.perf_counter()
    engine.cancel()
    worker.join(timeout=5)
    assert time.perf_counter() - asked < 0.2
    # Usable afterwards: the same reply as BEFORE the cancel (two replies after it could agree
    # on being broken, e.g. both empty because the stop was never cleared).
    assert engine.complete(CHAT, max_tokens=4) == before != ""


def test_cancel_by_event(engine: OnnxEngine) -> None:
    stop = threading.Event()
    pieces = []
    for piece in engine.stream_chat(CHAT, max_tokens=200, temperature=1.0, cancel=stop):
        pieces.append(piece)
        if len(pieces) == 2:
            stop.set()
    assert len(pieces) == 2


def test_open_engine_chooses_onnx_for_an_export_folder(tiny_model: TinyModel) -> None:
    engine = open_engine(tiny_model.onnx, EngineSettings(threads=1, context=512))
    assert isinstance(engine, OnnxEngine) and engine.info.format == "onnx"
    assert engine.info.context == 512


def test_cancel_while_reading_a_long_prompt(tiny_model: TinyModel) -> None:
    engine = OnnxEngine(tiny_model.onnx, EngineSettings(threads=1, context=2048), family="llama")
    engine.load()
    before = engine.complete(CHAT, max_tokens=3)
    note = [ChatMessage("user", " ".join(["fever cough"] * 900))]  # ~1,800 tokens: 0.3-0.9 s
    result: dict[str, str] = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("text", "".join(engine.stream_chat(note, max_tokens=5)))
    )
    worker.start()
    time.sleep(0.05)
    asked = time.perf_counter()
    engine.cancel()
    worker.join(timeout=5)
    assert time.perf_counter() - asked < 0.2
    stats = engine.last_generation
    assert stats is not None and stats.cancelled and stats.generated_tokens == 0
    assert result["text"] == "" and stats.total_s < 0.3
    assert engine.complete(CHAT, max_tokens=3) == before != ""  # as before the cancel
