"""Vouching for a model before an engine opens it: by installed id, or by path."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from edgemed.catalog.checks import FileStamp, ModelFileError, check_artifact_stamped
from edgemed.catalog.derived import derived_artifact, read_choice
from edgemed.catalog.entries import Catalog, load_catalog
from edgemed.catalog.gguf_header import read_gguf_header
from edgemed.catalog.install import find_installed
from edgemed.catalog.manifest import MANIFEST_NAME, Artifact, read_manifest
from edgemed.catalog.trust import against_catalog
from edgemed.errors import EdgemedError
from edgemed.i18n import _

_log = logging.getLogger("edgemed.catalog.vouch")


@dataclass(frozen=True)
class VouchedModel:
    """A model file that passed every check and may be handed to an engine."""

    artifact: Artifact | None
    path: Path
    # The identity of every file as it was checked; see :meth:`ensure_unchanged`.
    stamps: tuple[FileStamp, ...] = field(default=(), compare=False)

    def ensure_unchanged(self) -> None:
        """Call after the engine opened ``path``: refuse if any file is not the one checked."""
        for stamp in self.stamps:
            stamp.ensure_unchanged()


def _catalog() -> Catalog | None:
    try:
        return load_catalog()
    except EdgemedError:
        return None


def _checked(directory: Path, claimed: Artifact, derived: bool = False) -> VouchedModel:
    # The catalog, not the folder's manifest, says what a catalog model is.
    artifact = against_catalog(claimed, _catalog()) or claimed
    chosen = read_choice(directory, artifact) if derived else None
    if chosen is not None:
        # The format `edgemed doctor --bench` chose on this machine, checked like any model file;
        # if it fails its check, the shipped file (checked below) is used instead.
        try:
            mine = derived_artifact(artifact, chosen)
            path, stamps = check_artifact_stamped(directory, mine)
            return VouchedModel(mine, path, stamps)
        except EdgemedError as error:
            _log.warning("derived %s not used: %s", chosen.path, error.message)
    path, stamps = check_artifact_stamped(directory, artifact)
    return VouchedModel(artifact, path, stamps)


def vouch_for(model: str | Path, *, derived: bool = True) -> VouchedModel:
    """Resolve an installed model id, or a path, to a file that passed its checks.

    An id is checked against the catalog entry when the catalog knows it, else against its
    manifest (size, sha256 with MAC'd cached verdicts, GGUF header). A bare path is accepted when
    it sits in a folder with a manifest that lists it, or, for a builder's fresh GGUF with no
    manifest yet, on its header alone. An installed id resolves to the format chosen on this
    machine by ``edgemed doctor --bench`` when there is one (``derived=False``: the shipped file).
    """
    candidate = Path(model)
    if isinstance(model, str) and not candidate.exists() and "/" not in model:
        installed = find_installed(model)
        return _checked(installed.directory, installed.artifact, derived=derived)
    if not candidate.exists():
        raise ModelFileError(_("{path} does not exist.").format(path=candidate))
    folder = candidate if candidate.is_dir() else candidate.parent
    for search in (folder, folder.parent):
        if (search / MANIFEST_NAME).is_file():
            for artifact in read_manifest(search):
                entry = artifact.entry_point(search)
                if entry.resolve() == candidate.resolve():
                    return _checked(search, artifact)
    if candidate.is_file():
        stamp = FileStamp.now(candidate)
        read_gguf_header(candidate)
        return VouchedModel(None, candidate, (stamp,))
    return VouchedModel(None, candidate)
