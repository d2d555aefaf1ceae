"""Device recipes: which formats and quants to build for a kind of clinic hardware.

The choices are data (``quantize/recipes/*.toml``), so a deployer can add a device without
touching code.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from edgemed.i18n import _
from quantize import formats
from quantize.errors import InputErrorWithChoices

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
    )
