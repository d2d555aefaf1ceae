"""The annotated test sets in tests/data, read the way `edgemed eval` reads them."""

from __future__ import annotations

from pathlib import Path

from edgemed.evaluation.vignettes import Vignette, read_vignettes

DATA = Path(__file__).resolve().parent.parent / "data"
_REPO = Path(__file__).resolve().parent.parent.parent
# The published file is not copied into the repository (BMJ text): it sits beside it.
SEMIGRAN_CANDIDATES = [
    _REPO.parent / "shared" / "data" / "semigran2015_bmj_45.jsonl",
    _REPO / "shared" / "data" / "semigran2015_bmj_45.jsonl",
]
LABELS = ["em", "ne", "sc"]


def translated() -> list[Vignette]:
    return read_vignettes(DATA / "semigran_translated.jsonl", LABELS)


def lay() -> list[Vignette]:
    return read_vignettes(DATA / "lay_complaints.jsonl", LABELS)


def semigran_annotations() -> Path:
    return DATA / "semigran45_annotations.jsonl"


def semigran_file() -> Path | None:
    """The published Semigran file if this checkout has it beside it."""
    return next((p for p in SEMIGRAN_CANDIDATES if p.is_file()), None)
