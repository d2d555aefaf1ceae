"""Vouching for a model before an engine opens it: by installed id, or by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgemed.catalog.checks import ModelFileError, check_artifact
from edgemed.catalog.gguf_header import read_gguf_header
from edgemed.catalog.install import find_installed
from edgemed.catalog.manifest import MANIFEST_NAME, Artifact, read_manifest
from edgemed.i18n import _


@dataclass(frozen=True)
class VouchedModel:
    """A model file that passed every check and may be handed to an engine."""

    artifact: Artifact | None
    path: Path


def vouch_for(model: str | Path) -> VouchedModel:
    """Resolve an installed model id, or a path, to a file that passed its checks.

    An id is checked against its manifest (size, sha256 cached by size and mtime, GGUF header).
    A bare path is accepted when it sits in a folder with a manifest that lists it, or, for a
    builder's fresh GGUF with no manifest yet, on its header alone.
    """
    candidate = Path(model)
    if isinstance(model, str) and not candidate.exists() and "/" not in model:
        installed = find_installed(model)
        return VouchedModel(
            installed.artifact, check_artifact(installed.directory, installed.artifact)
        )
    if not candidate.exists():
        raise ModelFileError(_("{path} does not exist.").format(path=candidate))
    folder = candidate if candidate.is_dir() else candidate.parent
    for search in (folder, folder.parent):
        if (search / MANIFEST_NAME).is_file():
            for artifact in read_manifest(search):
                entry = artifact.entry_point(search)
                if entry.resolve() == candidate.resolve():
                    return VouchedModel(artifact, check_artifact(search, artifact))
    if candidate.is_file():
        read_gguf_header(candidate)
    return VouchedModel(None, candidate)
