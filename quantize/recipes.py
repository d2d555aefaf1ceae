"""Device recipes: which formats and quants to build for a kind of clinic hardware.

The choices are data (``quantize/recipes/*.toml``), so a deployer can add a device without
touching code. Each recipe names its CPU's features (``cpu_features``, as /proc/cpuinfo names
them) and lists its GGUF types fastest first: the types llama.cpp repacks into that CPU's widest
kernels (``quantize/repacking.py``) come before the ones it reads as stored, and ``why`` says so.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from edgemed.i18n import _
from quantize import formats
from quantize.errors import InputErrorWithChoices
from quantize.repacking import MIX_TYPE, Repacking, block_repacked, repacking

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RECIPES_DIR = Path(__file__).parent / "recipes"


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    ram_gb: float
    accelerator: str
    gguf: tuple[str, ...]
    onnx: tuple[str, ...]
    context: int
    cpu_features: frozenset[str] = frozenset()
    why: str = ""

    def repacking(self, gguf_type: str) -> Repacking:
        """What llama.cpp does with ``gguf_type`` on this recipe's CPU."""
        return repacking(gguf_type, self.cpu_features)

    def format_lines(self) -> list[str]:
        """One line per GGUF type: repacked on this device (and with which instructions) or not."""
        return [self._format_line(gguf_type) for gguf_type in self.gguf]

    def _format_line(self, gguf_type: str) -> str:
        packed = self.repacking(gguf_type)
        if self.accelerator != "none":
            if packed.repacked:
                return _(
                    "{type}: read as stored on the GPU; repacked ({layout}) if it runs on this CPU"
                ).format(type=gguf_type, layout=packed.layout)
            return _("{type}: read as stored on the GPU and on this CPU").format(type=gguf_type)
        if not packed.repacked:
            return _("{type}: read as stored here (no repacked kernel on this CPU)").format(
                type=gguf_type
            )
        line = _("{type}: llama.cpp repacks it here ({layout}, with {features})").format(
            type=gguf_type, layout=packed.layout, features=", ".join(sorted(packed.features))
        )
        mixed = MIX_TYPE.get(gguf_type)
        if mixed and not block_repacked(mixed, self.cpu_features):
            line += _("; its {block} tensors are read as stored").format(block=mixed)
        return line


def names() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


def load(name: str) -> Recipe:
    path = RECIPES_DIR / f"{name}.toml"
    if not path.is_file():
        raise InputErrorWithChoices(
            _("No recipe named {name}.").format(name=name),
            hint=_("Recipes: {names}.").format(names=", ".join(names())),
        )
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    gguf = formats.parse_list(",".join(data.get("gguf", [])), formats.GGUF_TYPES, "GGUF")
    onnx = formats.parse_list(",".join(data.get("onnx", [])), formats.ONNX_TYPES, "ONNX")
    return Recipe(
        name=name,
        description=str(data["description"]),
        ram_gb=float(data["ram_gb"]),
        accelerator=str(data.get("accelerator", "none")),
        gguf=tuple(gguf),
        onnx=tuple(onnx),
        context=int(data.get("context", 2048)),
        cpu_features=frozenset(str(f) for f in data.get("cpu_features", [])),
        why=str(data.get("why", "")),
    )
