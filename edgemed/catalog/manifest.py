"""The model bundle manifest: what a directory of model files claims to hold, with checksums.

One schema serves three places: an offline bundle on a USB stick (``edgemed models import DIR``),
the output of the model builder (``edgemed-quantize`` writes it), and every installed model's own
directory under the models dir. It is JSON (``manifest.json``) so that both sides read and write it
with the standard library alone. ``schema`` is bumped on any incompatible change; readers refuse a
schema they do not know instead of guessing.

    {
      "schema": 1,
      "created_by": "edgemed-quantize 0.1.0",
      "artifacts": [
        {
          "id": "smollm2-135m-instruct-q4_1", "family": "smollm2", "format": "gguf",
          "files": [{"path": "SmolLM2-135M-Instruct.Q4_1.gguf", "sha256": "b179...",
                     "size": 98362432}],
          "quant": "Q4_1", "context": 8192, "ram_mb": 300, "licence": "Apache-2.0",
          "languages": ["en"], "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
          "chat_template": "", "metrics": {"perplexity_wikitext": 21.4}
        }
      ]
    }
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgemed.errors import EdgemedError, InputError
from edgemed.files import SHARED_FILE, safe_relative, write_atomic
from edgemed.i18n import _

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
FORMATS = ("gguf", "onnx")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


class ManifestError(InputError):
    """A manifest that cannot be trusted or understood."""


@dataclass(frozen=True)
class ArtifactFile:
    """One file of an artifact, relative to the bundle directory, with its checksum."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Artifact:
    """One loadable model: a GGUF file, or an ONNX export directory with its tokenizer files."""

    id: str
    family: str
    format: str
    files: tuple[ArtifactFile, ...]
    quant: str = ""
    context: int = 2048
    ram_mb: int = 0
    licence: str = ""
    languages: tuple[str, ...] = ()
    base_model: str = ""
    chat_template: str = ""
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def entry_point(self, directory: Path) -> Path:
        """What an engine opens: the .gguf file, or the folder holding ``model.onnx``."""
        if self.format == "gguf":
            return directory / next(f.path for f in self.files if f.path.endswith(".gguf"))
        onnx = next(f.path for f in self.files if f.path.endswith(".onnx"))
        return (directory / onnx).parent


def _safe_relative(path: str, manifest: Path) -> str:
    # A bundle comes from a USB stick: a path must never reach outside its directory.
    safe = safe_relative(path)
    if safe is None:
        raise ManifestError(
            _("{manifest}: the file path {path!r} leaves the bundle directory.").format(
                manifest=manifest, path=path
            )
        )
    return safe


def _artifact_from_json(raw: Any, manifest: Path) -> Artifact:
    if not isinstance(raw, dict):
        raise ManifestError(
            _("{manifest}: every artifact must be an object.").format(manifest=manifest)
        )
    try:
        artifact_id = str(raw["id"])
        fmt = str(raw["format"])
        files_raw = raw["files"]
        family = str(raw["family"])
    except KeyError as missing:
        raise ManifestError(
            _("{manifest}: an artifact lacks the field {field}.").format(
                manifest=manifest, field=missing
            )
        ) from None
    if not _ID.match(artifact_id):
        raise ManifestError(
            _(
                "{manifest}: {id!r} is not a valid model id (lower-case letters, digits, . _ -)."
            ).format(manifest=manifest, id=artifact_id)
        )
    if fmt not in FORMATS:
        raise ManifestError(
            _("{manifest}: {id} has format {format!r}; known formats: {known}.").format(
                manifest=manifest, id=artifact_id, format=fmt, known=", ".join(FORMATS)
            )
        )
    files: list[ArtifactFile] = []
    for entry in files_raw if isinstance(files_raw, list) else []:
        sha = str(entry.get("sha256", "")).lower()
        if not _SHA256.match(sha):
            raise ManifestError(
                _("{manifest}: {path} has no valid sha256.").format(
                    manifest=manifest, path=entry.get("path")
                )
            )
        files.append(
            ArtifactFile(
                path=_safe_relative(str(entry.get("path", "")), manifest),
                sha256=sha,
                size=int(entry.get("size", -1)),
            )
        )
    wanted = ".gguf" if fmt == "gguf" else ".onnx"
    if not any(f.path.endswith(wanted) for f in files):
        raise ManifestError(
            _("{manifest}: {id} lists no {suffix} file.").format(
                manifest=manifest, id=artifact_id, suffix=wanted
            )
        )
    return Artifact(
        id=artifact_id,
        family=family,
        format=fmt,
        files=tuple(files),
        quant=str(raw.get("quant", "")),
        context=int(raw.get("context", 2048)),
        ram_mb=int(raw.get("ram_mb", 0)),
        licence=str(raw.get("licence", "")),
        languages=tuple(str(x) for x in raw.get("languages", [])),
        base_model=str(raw.get("base_model", "")),
        chat_template=str(raw.get("chat_template", "")),
        metrics={str(k): float(v) for k, v in dict(raw.get("metrics", {})).items()},
    )


def artifact_to_json(artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.id,
        "family": artifact.family,
        "format": artifact.format,
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in artifact.files],
        "quant": artifact.quant,
        "context": artifact.context,
        "ram_mb": artifact.ram_mb,
        "licence": artifact.licence,
        "languages": list(artifact.languages),
        "base_model": artifact.base_model,
        "chat_template": artifact.chat_template,
        "metrics": dict(artifact.metrics),
    }


def read_manifest(directory: Path) -> list[Artifact]:
    """The artifacts that ``directory/manifest.json`` describes (checksums are not checked here)."""
    return parse_manifest(read_manifest_bytes(directory), Path(directory) / MANIFEST_NAME)


_MAX_MANIFEST = 4 * 1024 * 1024


def read_manifest_bytes(directory: Path) -> bytes:
    """The bytes of ``directory/manifest.json``, read once (what a signature is checked over)."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(
            _("No {name} in {directory}: this is not an edgemed model bundle.").format(
                name=MANIFEST_NAME, directory=directory
            )
        )
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_MANIFEST + 1)
    except OSError as error:
        raise ManifestError(
            _("{manifest} cannot be read: {error}").format(manifest=path, error=error)
        ) from None
    if len(data) > _MAX_MANIFEST:
        raise ManifestError(
            _("{manifest} cannot be read: {error}").format(manifest=path, error="too large")
        )
    return data


def parse_manifest(data: bytes, path: Path) -> list[Artifact]:
    """The artifacts in the manifest bytes ``data`` (read from ``path``)."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ManifestError(
            _("{manifest} cannot be read: {error}").format(manifest=path, error=error)
        ) from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA_VERSION:
        found = raw.get("schema") if isinstance(raw, dict) else None
        raise ManifestError(
            _("{manifest} has schema {found}; this edgemed reads schema {known}.").format(
                manifest=path, found=found, known=SCHEMA_VERSION
            ),
            hint=_("Rebuild the bundle with a matching edgemed-quantize, or update edgemed."),
        )
    artifacts = [_artifact_from_json(a, path) for a in raw.get("artifacts", [])]
    if not artifacts:
        raise ManifestError(_("{manifest} lists no artifacts.").format(manifest=path))
    return artifacts


def write_manifest(directory: Path, artifacts: list[Artifact], created_by: str = "edgemed") -> Path:
    """Write ``directory/manifest.json`` for ``artifacts``; returns its path."""
    if not artifacts:
        raise EdgemedError(_("A manifest needs at least one artifact."))
    path = Path(directory) / MANIFEST_NAME
    document = {
        "schema": SCHEMA_VERSION,
        "created_by": created_by,
        "artifacts": [artifact_to_json(a) for a in artifacts],
    }
    # Round-trip through the reader so a writer can never produce what a reader refuses.
    for artifact in artifacts:
        _artifact_from_json(artifact_to_json(artifact), path)
    # Atomic: a model folder never holds half a manifest, whatever stops the writer.
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n", mode=SHARED_FILE)
    return path
