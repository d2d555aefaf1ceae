"""``understand``: one complaint in, proposals for the nurse out, most urgent first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from edgemed.errors import InputError
from edgemed.i18n import _
from edgemed.protocol.domain import Category, Presence
from edgemed.protocol.net import triage_view
from edgemed.understand.embedding_method import propose_by_embedding
from edgemed.understand.lexicon import load_lexicon
from edgemed.understand.lexicon_method import propose_by_lexicon
from edgemed.understand.numbers import find_burn_percent, find_vitals
from edgemed.understand.proposal import (
    ALL_METHODS,
    DEFAULT_METHODS,
    EMBEDDING,
    LEXICON,
    LLM,
    MODEL,
    Proposal,
    Understanding,
)

_PRESENCE_ORDER = {Presence.PRESENT: 0, Presence.UNKNOWN: 1, Presence.ABSENT: 2}


def _urgency(protocol: Any, finding_id: str) -> int:
    definition = protocol.findings.get(finding_id)
    category = getattr(definition, "category", Category.GREEN)
    return int(category.urgency)


def order_for_nurse(protocol: Any, proposals: Iterable[Proposal]) -> tuple[Proposal, ...]:
    """Asserted signs that would raise the category first, then hedged ones, denials last."""
    return tuple(
        sorted(
            proposals,
            key=lambda p: (
                _PRESENCE_ORDER[p.presence],
                _urgency(protocol, p.finding_id),
                -p.confidence,
                p.span[0],
            ),
        )
    )


def combine(proposals: Iterable[Proposal]) -> list[Proposal]:
    """One proposal per finding across methods.

    A finding any method asserts is proposed as present (a wrong proposal costs a tap, a missed
    emergency sign costs a category); agreement between methods raises the confidence.
    """
    by_id: dict[str, list[Proposal]] = {}
    for p in proposals:
        by_id.setdefault(p.finding_id, []).append(p)
    merged: list[Proposal] = []
    for group in by_id.values():
        group.sort(key=lambda p: (_PRESENCE_ORDER[p.presence], -p.confidence))
        lead = group[0]
        agreeing = {p.method for p in group if p.presence is lead.presence}
        if len(agreeing) > 1:
            boosted = min(0.99, 1 - (1 - lead.confidence) / len(agreeing))
            method = "+".join(m for m in ALL_METHODS if m in agreeing)
            lead = Proposal(
                lead.finding_id, lead.presence, boosted, method, lead.span, lead.evidence
            )
        merged.append(lead)
    return merged


def understand(
    text: str,
    locale: str,
    protocol: Any,
    engine: Any | None = None,
    methods: Sequence[str] = DEFAULT_METHODS,
) -> Understanding:
    """Proposed findings and vitals for a complaint written in ``locale``.

    ``protocol`` is a protocol id or a loaded ``Protocol``; only its findings are proposed.
    ``methods`` picks among "lexicon", "embedding" and "llm"; "llm" needs an ``engine`` with a
    model loaded and is skipped (not an error) without one, so rules-only mode keeps working.
    """
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise InputError(
            _("Unknown understanding method: {names}.").format(names=", ".join(unknown)),
            hint=_("Choose among: {names}").format(names=", ".join(ALL_METHODS)),
        )
    if isinstance(protocol, str):
        protocol = triage_view(protocol)
    lexicon = load_lexicon(locale)
    allowed = set(protocol.findings)
    found: list[Proposal] = []
    if LEXICON in methods:
        found.extend(propose_by_lexicon(text, lexicon, allowed))
        found.extend(p for p in find_burn_percent(text, lexicon) if p.finding_id in allowed)
    use_embedding = EMBEDDING in methods
    if MODEL in methods:
        from edgemed.understand.model_method import load_sign_model, propose_by_model

        model = load_sign_model()
        if model is None:
            use_embedding = True  # no sign model installed: the embeddings stand in for it
        else:
            found.extend(propose_by_model(text, allowed, model))
    if use_embedding:
        found.extend(propose_by_embedding(text, lexicon, list(protocol.findings.values()), allowed))
    if LLM in methods and engine is not None and getattr(engine, "available", True):
        from edgemed.understand.llm_method import propose_by_llm

        found.extend(propose_by_llm(text, protocol, engine, lexicon))
    proposals = order_for_nurse(protocol, combine(found))
    return Understanding(proposals=proposals, vitals=tuple(find_vitals(text, lexicon)))
