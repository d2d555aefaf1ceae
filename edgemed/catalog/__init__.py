"""The model catalog: where models come from, how they are checked, where they are installed.

The bundle manifest schema (``manifest.json``, :func:`write_manifest` / :func:`read_manifest`)
is shared with the model builder (``edgemed-quantize``), which writes it; see docs/inference.md.
"""

from __future__ import annotations

from edgemed.catalog.checks import check_artifact, check_file, sha256_of
from edgemed.catalog.entries import (
    TIERS,
    BundleDirectory,
    Catalog,
    CatalogEntry,
    JoinedParts,
    LocalFile,
    Source,
    WheelMember,
    catalog_file,
    load_catalog,
    parse_catalog,
)
from edgemed.catalog.gguf_header import GgufHeader, ModelFileError, read_gguf_header
from edgemed.catalog.install import (
    InstalledModel,
    InstallError,
    InstallProgress,
    Verdict,
    find_installed,
    import_bundle,
    install,
    installed_models,
    remove,
    verify,
)
from edgemed.catalog.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    Artifact,
    ArtifactFile,
    ManifestError,
    read_manifest,
    write_manifest,
)
from edgemed.catalog.vouch import VouchedModel, vouch_for

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "TIERS",
    "Artifact",
    "ArtifactFile",
    "BundleDirectory",
    "Catalog",
    "CatalogEntry",
    "GgufHeader",
    "InstallError",
    "InstallProgress",
    "InstalledModel",
    "JoinedParts",
    "LocalFile",
    "ManifestError",
    "ModelFileError",
    "Source",
    "Verdict",
    "VouchedModel",
    "WheelMember",
    "catalog_file",
    "check_artifact",
    "check_file",
    "find_installed",
    "import_bundle",
    "install",
    "installed_models",
    "load_catalog",
    "parse_catalog",
    "read_gguf_header",
    "read_manifest",
    "remove",
    "sha256_of",
    "verify",
    "vouch_for",
    "write_manifest",
]
