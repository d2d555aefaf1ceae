"""The output folder's manifest, in the catalog's schema, so ``edgemed models import DIR`` takes it.

Artifacts (file, sha256, size, format, quant, metrics, RAM need, context) go through the
catalog's own writer; what the schema has no field for (the source files with their sha256, the
tool versions, the evaluation settings) goes into a ``build`` section that readers ignore.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from edgemed import __version__
from edgemed.catalog.manifest import (
    MANIFEST_NAME,
    Artifact,
    ArtifactFile,
    read_manifest,
    write_manifest,
)
from edgemed.files import SHARED_FILE, sha256_file, write_atomic

TOOLS = (
    "gguf",
    "llama-cpp-python",
    "torch",
    "transformers",
    "optimum",
    "optimum-onnx",
    "onnxruntime",
    "onnx",
    "peft",
    "numpy",
)
_MIB = 1024 * 1024


@dataclass
class BuiltArtifact:
    """One thing the run produced: a GGUF file or an ONNX folder, relative to the output dir."""

    id: str
    format: str  # gguf / onnx
    quant: str
    path: Path  # the .gguf file, or the ONNX folder
    metrics: dict[str, float] = field(default_factory=dict)

    def files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(p for p in self.path.rglob("*") if p.is_file())
        return [self.path]


def tool_versions() -> dict[str, str]:
    versions = {"edgemed-quantize": __version__, "python": platform.python_version()}
    for tool in TOOLS:
        try:
            versions[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            continue
    return versions


def source_files(folder: Path) -> list[dict[str, Any]]:
    """Every file of the source model with its sha256: the build is traceable to its input."""
    return [
        {"path": str(p.relative_to(folder)), "sha256": sha256_file(p), "size": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def ram_need_mb(artifact: BuiltArtifact, layers: int, kv_width: int, context: int) -> int:
    """Weights + an f16 KV cache for ``context`` tokens + the engine's own working memory."""
    weights = sum(p.stat().st_size for p in artifact.files())
    kv_cache = 2 * layers * context * kv_width * 2
    overhead = 150 * _MIB if artifact.format == "gguf" else 300 * _MIB
    return int((weights + kv_cache + overhead) / _MIB) + 1


def write_bundle_manifest(
    out_dir: Path,
    built: list[BuiltArtifact],
    family: str,
    context: int,
    ram_mb: dict[str, int],
    chat_template: str,
    build: dict[str, Any],
) -> Path:
    artifacts = [
        Artifact(
            id=item.id,
            family=family,
            format=item.format,
            files=tuple(
                ArtifactFile(
                    path=str(f.relative_to(out_dir)), sha256=sha256_file(f), size=f.stat().st_size
                )
                for f in item.files()
            ),
            quant=item.quant,
            context=context,
            ram_mb=ram_mb[item.id],
            chat_template=chat_template,
            metrics=dict(item.metrics),
        )
        for item in built
    ]
    path = write_manifest(out_dir, artifacts, created_by=f"edgemed-quantize {__version__}")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["build"] = build
    return _rewrite(out_dir, document)


def update_metrics(out_dir: Path, metrics: dict[str, dict[str, float]]) -> Path:
    """Replace the metrics of the named artifacts in an existing manifest (files are unchanged)."""
    path = out_dir / MANIFEST_NAME
    read_manifest(out_dir)
    document = json.loads(path.read_text(encoding="utf-8"))
    for raw in document["artifacts"]:
        if raw["id"] in metrics:
            raw["metrics"] = metrics[raw["id"]]
    return _rewrite(out_dir, document)


def _rewrite(out_dir: Path, document: dict[str, Any]) -> Path:
    """Replace the manifest atomically, then read it back: the catalog must take what we wrote."""
    path = out_dir / MANIFEST_NAME
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n", mode=SHARED_FILE)
    read_manifest(out_dir)
    return path


def built_from_manifest(out_dir: Path) -> list[BuiltArtifact]:
    """The artifacts an existing manifest lists, as the evaluator takes them."""
    return [
        BuiltArtifact(a.id, a.format, a.quant, a.entry_point(out_dir), dict(a.metrics))
        for a in read_manifest(out_dir)
    ]
