"""A Hugging Face model folder, read without loading a single weight.

Only the JSON files and the safetensors headers are read, so ``inspect`` answers in seconds for
any model size, and the converter can plan every output tensor before it touches one.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgemed.i18n import _
from quantize.errors import SourceNotFound, UnsupportedModel

# Bytes per element of the safetensors dtypes a language model can carry.
DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
}


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives and what it is, from a safetensors header."""

    name: str
    file: Path
    dtype: str
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def nbytes(self) -> int:
        return self.elements * DTYPE_BYTES.get(self.dtype, 4)


@dataclass
class SourceModel:
    """An HF model folder: its config, tokenizer files and tensor index."""

    path: Path
    config: dict[str, Any]
    tensors: dict[str, TensorEntry]
    weight_files: list[Path] = field(default_factory=list)

    @property
    def architecture(self) -> str:
        names = self.config.get("architectures") or []
        return str(names[0]) if names else str(self.config.get("model_type", "unknown"))

    @property
    def parameter_count(self) -> int:
        return sum(t.elements for t in self.tensors.values())

    @property
    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors.values())

    @property
    def largest_tensor_bytes(self) -> int:
        return max((t.nbytes for t in self.tensors.values()), default=0)

    @property
    def dtypes(self) -> dict[str, int]:
        """Parameter count per stored dtype (most checkpoints are one dtype; some mix)."""
        counts: dict[str, int] = {}
        for tensor in self.tensors.values():
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.elements
        return counts

    def file(self, name: str) -> Path | None:
        candidate = self.path / name
        return candidate if candidate.is_file() else None

    def json_file(self, name: str) -> dict[str, Any] | None:
        found = self.file(name)
        if found is None:
            return None
        loaded = json.loads(found.read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else None


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file: names, dtypes, shapes (no tensor data is read)."""
    with path.open("rb") as handle:
        raw = handle.read(8)
        if len(raw) != 8:
            raise UnsupportedModel(_("{file} is not a safetensors file.").format(file=path))
        (length,) = struct.unpack("<Q", raw)
        if length > 100_000_000:
            raise UnsupportedModel(_("{file} has a corrupt safetensors header.").format(file=path))
        header = json.loads(handle.read(length))
    if not isinstance(header, dict):
        raise UnsupportedModel(_("{file} has a corrupt safetensors header.").format(file=path))
    return header


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        mapping = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        return [folder / name for name in sorted(set(mapping.values()))]
    return sorted(folder.glob("*.safetensors"))


def open_source(folder: Path) -> SourceModel:
    """Read an HF model folder's config and tensor index; refuse what is not there, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceNotFound(
            _("{folder} is not a folder.").format(folder=folder),
            hint=_("Give the folder that holds config.json and the *.safetensors files."),
        )
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise SourceNotFound(
            _("{folder} has no config.json.").format(folder=folder),
            hint=_("Save the model with model.save_pretrained(folder) first."),
        )
    config = json.loads(config_path.read_text(encoding="utf-8"))
    files = _weight_files(folder)
    if not files:
        pickled = sorted(folder.glob("*.bin")) + sorted(folder.glob("*.pt"))
        hint = _("Re-save it with model.save_pretrained(folder, safe_serialization=True).")
        if pickled:
            raise UnsupportedModel(
                _("{folder} holds PyTorch pickle weights ({file}), not safetensors.").format(
                    folder=folder, file=pickled[0].name
                ),
                hint=hint,
            )
        raise SourceNotFound(_("{folder} has no *.safetensors weights.").format(folder=folder))
    tensors: dict[str, TensorEntry] = {}
    for weight_file in files:
        if not weight_file.is_file():
            raise SourceNotFound(
                _("{file} is listed in the index but missing.").format(file=weight_file)
            )
        for name, info in read_safetensors_header(weight_file).items():
            if name == "__metadata__":
                continue
            tensors[name] = TensorEntry(name, weight_file, info["dtype"], tuple(info["shape"]))
    return SourceModel(path=folder, config=config, tensors=tensors, weight_files=files)
