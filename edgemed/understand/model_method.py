"""Method d: the fine-tuned sign model (multilingual e5, trained by edgemed-quantize).

For every sign of the protocol it gives four probabilities (not mentioned, present, denied,
hedged) and the words its attention rested on; a sign at or above its "present" threshold is
proposed as present, a hedged one as unknown, a denied one as absent. Evidence spans are the
words, so the nurse sees why.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Collection
from pathlib import Path

from edgemed.catalog.entries import catalog_file
from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.inference.sign_model import SignModel
from edgemed.locations import models_dir
from edgemed.protocol.domain import Presence
from edgemed.understand.proposal import MODEL, Proposal

SHIPPED = "signs-e5-int8"


def shipped_path() -> Path | None:
    """``EDGEMED_SIGN_MODEL`` (a path, or "none" to switch it off), else the copy installed
    through the catalog (`edgemed models install signs-e5-int8`), else the model that ships in
    models/trained/ beside the catalog; None when there is none."""
    override = os.environ.get("EDGEMED_SIGN_MODEL")
    if override is not None:
        return None if override.lower() in ("", "none", "off") else Path(override)
    for path in (
        models_dir() / SHIPPED / f"{SHIPPED}.onnx",
        catalog_file().parent / "trained" / f"{SHIPPED}.onnx",
    ):
        if path.is_file():
            return path
    return None


def _check_against_manifest(path: Path) -> None:
    """The shipped file must be the one its manifest pins (size and sha256)."""
    manifest = path.parent / "manifest.json"
    if not manifest.is_file():
        return
    data = json.loads(manifest.read_text(encoding="utf-8"))
    for artifact in data.get("artifacts", []):
        for entry in artifact.get("files", []):
            if entry.get("path") != path.name:
                continue
            digest = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            if path.stat().st_size != entry["size"] or digest.hexdigest() != entry["sha256"]:
                raise EdgemedError(
                    _("The sign model {path} does not match its manifest: reinstall it.").format(
                        path=path
                    )
                )


@functools.cache
def load_sign_model(path: Path | None = None) -> SignModel | None:
    """The sign model, opened and checked once per process; None when none is installed."""
    path = path or shipped_path()
    if path is None:
        return None
    _check_against_manifest(path)
    return SignModel(path)


def propose_by_model(text: str, allowed: Collection[str], model: SignModel) -> list[Proposal]:
    readings = model.read(text)
    present = {r.sign for r in model.present(readings)}
    out: list[Proposal] = []
    for r in readings:
        if r.sign not in allowed:
            continue
        p = r.probabilities
        if r.sign in present:
            presence, confidence = Presence.PRESENT, p["present"]
        elif p["hedged"] >= 0.5:
            presence, confidence = Presence.UNKNOWN, p["hedged"]
        elif p["absent"] >= 0.5:
            presence, confidence = Presence.ABSENT, p["absent"]
        else:
            continue
        start, end = r.span
        out.append(Proposal(r.sign, presence, round(confidence, 3), MODEL, r.span, text[start:end]))
    return out
