"""LoRA adapters: checked against the base by shape, then merged with peft before conversion.

A fine-tune is often shipped as an adapter. Merging it into the wrong base "works" in peft only
when the shapes happen to agree and fails deep inside otherwise, so every adapted matrix is
checked against the source's tensor index first, and refused by name when it does not fit.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from edgemed.i18n import _
from quantize.errors import SourceNotFound, UnsupportedModel
from quantize.source import SourceModel, open_source, read_safetensors_header


@dataclass(frozen=True)
class AdapterCheck:
    base_name: str
    rank: int
    adapted: int
    name_matches: bool


def _base_tensor(lora_name: str) -> str:
    # "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    #   -> "model.layers.0.self_attn.q_proj.weight"
    name = lora_name.removeprefix("base_model.model.")
    for part in (".lora_A", ".lora_B"):
        name = name.replace(part, "")
    return name


def check_adapter(source: SourceModel, adapter_dir: Path) -> AdapterCheck:
    """Refuse an adapter whose matrices do not fit the source model."""
    config_file = adapter_dir / "adapter_config.json"
    weights = adapter_dir / "adapter_model.safetensors"
    if not config_file.is_file() or not weights.is_file():
        raise SourceNotFound(
            _(
                "{folder} is not a LoRA adapter (adapter_config.json + adapter_model.safetensors)."
            ).format(folder=adapter_dir),
            hint=_("Save it with peft_model.save_pretrained(folder)."),
        )
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("peft_type", "LORA") != "LORA":
        raise UnsupportedModel(
            _("Adapter type {kind} is not supported (only LoRA).").format(kind=config["peft_type"])
        )
    header = read_safetensors_header(weights)
    mismatches: list[str] = []
    adapted = 0
    for name, info in header.items():
        if name == "__metadata__" or ".lora_A" not in name:
            continue
        base_name = _base_tensor(name)
        partner = header.get(name.replace(".lora_A", ".lora_B"))
        base = source.tensors.get(base_name)
        if base is None or partner is None:
            mismatches.append(base_name)
            continue
        expected = (int(partner["shape"][0]), int(info["shape"][1]))
        if tuple(base.shape) != expected:
            mismatches.append(f"{base_name} {list(base.shape)} != {list(expected)}")
        adapted += 1
    base_name = str(config.get("base_model_name_or_path") or "")
    if mismatches or adapted == 0:
        raise UnsupportedModel(
            _("This adapter was trained for another base model ({base}): {examples}.").format(
                base=base_name or _("unnamed"),
                examples="; ".join(mismatches[:3]) or _("no matrices"),
            ),
            hint=_("Give the base model the adapter was trained on as SOURCE."),
        )
    own_name = str(source.config.get("_name_or_path", ""))
    matches = bool(base_name) and (
        Path(base_name).name == source.path.name or base_name == own_name
    )
    return AdapterCheck(base_name, int(config.get("r", 0)), adapted, matches)


def merge_adapter(source_dir: Path, adapter_dir: Path, merged_dir: Path) -> Path:
    """Merge the adapter into the base weights and save a plain HF folder (via ``.part``)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_adapter(open_source(source_dir), adapter_dir)
    part = merged_dir.with_name(merged_dir.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    base = AutoModelForCausalLM.from_pretrained(source_dir, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(part, safe_serialization=True)
    tokenizer_home = adapter_dir if (adapter_dir / "tokenizer.json").is_file() else source_dir
    AutoTokenizer.from_pretrained(tokenizer_home).save_pretrained(part)
    os.replace(part, merged_dir)
    return merged_dir
