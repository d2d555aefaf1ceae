"""Free text in the patient's language -> proposed findings and vitals for the nurse to confirm.

Three methods, each measurable alone (docs/evaluation.md): a per-locale lexicon with negation
and uncertainty cues, multilingual sentence embeddings against the protocol's own wording, and
the local language model asked one finding at a time. Nothing here decides a category.
"""

from edgemed.understand.lexicon import available_locales, load_lexicon
from edgemed.understand.pipeline import combine, order_for_nurse, understand
from edgemed.understand.proposal import (
    ALL_METHODS,
    DEFAULT_METHODS,
    EMBEDDING,
    LEXICON,
    LLM,
    MODEL,
    Proposal,
    Understanding,
    VitalProposal,
)

__all__ = [
    "ALL_METHODS",
    "DEFAULT_METHODS",
    "EMBEDDING",
    "LEXICON",
    "LLM",
    "MODEL",
    "Proposal",
    "Understanding",
    "VitalProposal",
    "available_locales",
    "combine",
    "load_lexicon",
    "order_for_nurse",
    "understand",
]
