"""Method (c): the local language model, asked one finding at a time.

Asked naively ("does the note mention X? yes/no"), a 135M chat model leans to "yes" for almost
everything. So each answer is *calibrated*: the log-odds of "Yes" over "No" for the real note
minus the log-odds for the same question about an empty note (contextual calibration, Zhao et
al. 2021). Only a finding the note moves clearly towards "Yes" is proposed. The note comes first
in the prompt and the question last, so llama.cpp reuses the note's cached prefix and each
finding costs only the question's tokens.

Strategies kept for measurement (bench_understand, docs/evaluation.md): "calibrated" (the
default), "naive" (raw yes/no), "fewshot" (two worked examples before the note) and "json"
(one grammar-constrained JSON object of booleans).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from edgemed.protocol.domain import Category, Presence
from edgemed.understand.lexicon import Lexicon
from edgemed.understand.proposal import LLM, Proposal

STRATEGIES = ("calibrated", "naive", "fewshot", "json")
# Calibrated log-odds a note must add before "Yes" counts (measured in bench_understand).
CALIBRATED_MARGIN = 1.0
_EMPTY_NOTE = "(nothing written)"
_SYSTEM = (
    "You help a clinic nurse. Read the patient's complaint and answer the question with "
    "Yes or No only."
)
_FEWSHOT = [
    ("Cough for two days, no fever.", "a fever", "No"),
    ("Crushing chest pain since this morning.", "chest pain", "Yes"),
]

_baselines: dict[tuple[str, str, str], float] = {}


def _messages(note: str, label: str, fewshot: bool) -> list[Any]:
    from edgemed.inference.engine import ChatMessage

    messages = [ChatMessage("system", _SYSTEM)]
    if fewshot:
        for example, asked, answer in _FEWSHOT:
            messages.append(
                ChatMessage(
                    "user", f"Complaint: {example}\nQuestion: Does the patient have {asked}?"
                )
            )
            messages.append(ChatMessage("assistant", answer))
    messages.append(
        ChatMessage("user", f"Complaint: {note}\nQuestion: Does the patient have {label}?")
    )
    return messages


def _log_odds(engine: Any, note: str, label: str, fewshot: bool) -> float:
    scores = engine.score(_messages(note, label, fewshot), ["Yes", "No"])
    return float(scores["Yes"] - scores["No"])


def _baseline(engine: Any, label: str, strategy: str) -> float:
    key = (str(getattr(getattr(engine, "info", None), "model_id", id(engine))), label, strategy)
    if key not in _baselines:
        _baselines[key] = _log_odds(engine, _EMPTY_NOTE, label, strategy == "fewshot")
    return _baselines[key]


def _question_label(definition: Any) -> str:
    """ "Chest pain" -> "chest pain", but "ECG with acute ischaemia" keeps its acronym."""
    label = str(definition.label)
    first = label.split(" ", 1)[0]
    return label if first.isupper() else label[:1].lower() + label[1:]


def _proposal(text: str, fid: str, odds: float) -> Proposal:
    # The model gives no span, so the evidence is the whole note; it only ever proposes
    # "present" (a denial from a model would be a way to lower the category).
    confidence = round(1 / (1 + math.exp(-odds)), 3)
    return Proposal(fid, Presence.PRESENT, confidence, LLM, (0, len(text)), text)


def propose_by_llm(
    text: str,
    protocol: Any,
    engine: Any,
    lexicon: Lexicon,
    strategy: str = "calibrated",
    finding_ids: Sequence[str] | None = None,
) -> list[Proposal]:
    """Method (c) alone: findings the model, asked one by one, says the complaint shows."""
    if strategy not in STRATEGIES:
        raise ValueError(strategy)
    # By default only the signs that would make the patient red or orange are asked: each
    # question costs the model a forward pass, and a missed emergency is the costly error.
    if finding_ids is None:
        finding_ids = [
            fid
            for fid, d in protocol.findings.items()
            if d.category in (Category.RED, Category.ORANGE)
        ]
    wanted = [protocol.findings[fid] for fid in finding_ids if fid in protocol.findings]
    if not text.strip() or not wanted:
        return []
    if strategy == "json":
        return _by_json(text, engine, wanted)
    proposals = []
    for definition in wanted:
        label = _question_label(definition)
        odds = _log_odds(engine, text, label, strategy == "fewshot")
        if strategy in ("calibrated", "fewshot"):
            odds -= _baseline(engine, label, strategy)
            if odds < CALIBRATED_MARGIN:
                continue
        elif odds <= 0:
            continue
        proposals.append(_proposal(text, definition.id, odds))
    return proposals


def _by_json(text: str, engine: Any, wanted: Sequence[Any]) -> list[Proposal]:
    from edgemed.inference.engine import ChatMessage

    schema = {
        "type": "object",
        "properties": {d.id: {"type": "boolean"} for d in wanted},
        "required": [d.id for d in wanted],
    }
    listing = "\n".join(f"- {d.id}: {d.label}" for d in wanted)
    messages = [
        ChatMessage("system", _SYSTEM),
        ChatMessage(
            "user",
            f"Complaint: {text}\nFor each sign, answer true only if the complaint shows it:\n"
            f"{listing}",
        ),
    ]
    answer = engine.json(messages, schema, max_tokens=24 * len(wanted) + 16)
    return [_proposal(text, d.id, 0.0) for d in wanted if answer.get(d.id) is True]
