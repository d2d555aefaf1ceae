"""What understanding hands to the nurse: proposals, never findings.

A proposal carries the evidence (the span of the nurse's text that made us think so) so the
screen can highlight it; the nurse confirms or rejects it, and only then does it become a
``Finding`` the protocol counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgemed.protocol.domain import Presence

# Method names, as they appear in proposals, in `edgemed eval` and in docs/evaluation.md.
LEXICON = "lexicon"
EMBEDDING = "embedding"
MODEL = "model"  # the fine-tuned sign model (models/trained/), onnxruntime only
LLM = "llm"
ALL_METHODS: tuple[str, ...] = (LEXICON, EMBEDDING, MODEL, LLM)
# What runs when the caller does not say: the lexicon and the shipped sign model (the pipeline
# falls back to the embeddings when no sign model is installed).
DEFAULT_METHODS: tuple[str, ...] = (LEXICON, MODEL)

Span = tuple[int, int]


@dataclass(frozen=True)
class Proposal:
    """A finding a method thinks the text mentions, waiting for the nurse."""

    finding_id: str
    presence: Presence
    confidence: float
    method: str
    span: Span
    evidence: str


@dataclass(frozen=True)
class VitalProposal:
    """A number in the text that looks like a measurement (or the patient's age)."""

    field: str
    value: float
    span: Span
    evidence: str


@dataclass(frozen=True)
class Understanding:
    """Everything proposed for one text: findings first-most-urgent, then vitals."""

    proposals: tuple[Proposal, ...] = ()
    vitals: tuple[VitalProposal, ...] = ()

    def present_ids(self) -> list[str]:
        """Finding ids proposed as present, in display order."""
        return [p.finding_id for p in self.proposals if p.presence is Presence.PRESENT]

    def vital(self, name: str) -> float | None:
        """The first proposed value of one vital field, if any."""
        for v in self.vitals:
            if v.field == name:
                return v.value
        return None
