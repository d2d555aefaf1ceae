"""Whose word a model's manifest is taken on: the catalog's, or the deployer's signature.

A manifest on a USB stick is data from whoever wrote the stick. For a model the catalog knows
(same id), the catalog entry is the authority: every field (files, checksums, format, chat
template, context...) must be the catalog's, and what is installed is the catalog's own entry. A
model the catalog does not know must come with ``manifest.json.sig``, the deployer key's signature
of the manifest's exact bytes (``edgemed models sign``), checked against the key pinned on this
device (``EDGEMED_DEPLOYER_KEY``, else ``<data dir>/deployer.pub``). Without one, the import says
"unverified source" and goes on only with an explicit ``--allow-unverified``.

Deployer-facing (``edgemed models import``): the messages stay in English, like the command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from edgemed.bundle.signing import (
    SignatureError,
    check_signature,
    key_id,
    read_public_key,
    signature_file,
)
from edgemed.catalog.entries import Catalog
from edgemed.catalog.manifest import MANIFEST_NAME, Artifact, artifact_to_json
from edgemed.errors import EdgemedError
from edgemed.locations import data_dir

# Informational only: measured figures do not change what is loaded or how.
_IGNORED = ("metrics",)


class UnverifiedSource(EdgemedError):
    """A model whose manifest nobody trusted vouches for."""


@dataclass(frozen=True)
class Vouched:
    """An artifact to install, and on whose word."""

    artifact: Artifact
    authority: str  # "catalog", "signed by <key id>", or "unverified source"


def pinned_key_file() -> Path:
    configured = os.environ.get("EDGEMED_DEPLOYER_KEY")
    return Path(configured) if configured else data_dir() / "deployer.pub"


def pinned_key(path: Path | None = None) -> bytes | None:
    """The deployer's public key pinned on this device, if any."""
    where = path or pinned_key_file()
    return read_public_key(where) if where.is_file() else None


def differences(claimed: Artifact, catalog: Artifact) -> list[str]:
    """The fields where a manifest's artifact differs from the catalog's entry."""
    mine, theirs = artifact_to_json(claimed), artifact_to_json(catalog)
    return sorted(k for k in theirs if k not in _IGNORED and mine.get(k) != theirs[k])


def against_catalog(claimed: Artifact, catalog: Catalog | None) -> Artifact | None:
    """The catalog's artifact for ``claimed.id`` (None if the catalog does not know it).

    Raises :class:`UnverifiedSource` when the manifest claims a catalog id with other contents.
    """
    entry = next((e for e in catalog.entries if e.id == claimed.id), None) if catalog else None
    if entry is None:
        return None
    changed = differences(claimed, entry.artifact)
    if changed:
        raise UnverifiedSource(
            f"The manifest of {claimed.id} differs from the model catalog in: "
            f"{', '.join(changed)}. The catalog is the authority for its models; refused.",
            hint="Copy the model again from the deployer, or reinstall it: "
            f"`edgemed models remove {claimed.id}`, then `edgemed models install {claimed.id}`.",
        )
    return entry.artifact


def authorise(
    directory: Path,
    manifest_bytes: bytes,
    artifacts: list[Artifact],
    catalog: Catalog | None,
    *,
    key: bytes | None,
    allow_unverified: bool,
) -> list[Vouched]:
    """Decide, for each artifact of a bundle's manifest, whose word it is installed on."""
    vouched: list[Vouched] = []
    unknown: list[Artifact] = []
    for artifact in artifacts:
        known = against_catalog(artifact, catalog)
        if known is not None:
            vouched.append(Vouched(known, "catalog"))
        else:
            unknown.append(artifact)
    if not unknown:
        return vouched
    names = ", ".join(a.id for a in unknown)
    signature = _read_signature(signature_file(directory / MANIFEST_NAME))
    problem = ""
    if key is None:
        problem = "no deployer key is pinned on this device to check its signature"
    else:
        try:
            check_signature(MANIFEST_NAME, manifest_bytes, signature, key)
            return vouched + [Vouched(a, f"signed by {key_id(key)}") for a in unknown]
        except SignatureError as error:
            problem = error.message
    if not allow_unverified:
        raise UnverifiedSource(
            f"Unverified source: {names} is not in the model catalog and {problem}. "
            "Nothing was imported.",
            hint="Ask the deployer to sign it (`edgemed models sign DIR`) and pin their key "
            "(--deployer-key deployer.pub), or, for a model you built yourself, "
            "--allow-unverified.",
        )
    return vouched + [Vouched(a, "unverified source") for a in unknown]


def _read_signature(path: Path) -> bytes | None:
    try:
        with path.open("rb") as stream:
            data = stream.read(65)
    except OSError:
        return None
    return data


__all__ = [
    "UnverifiedSource",
    "Vouched",
    "against_catalog",
    "authorise",
    "differences",
    "pinned_key",
    "pinned_key_file",
]
