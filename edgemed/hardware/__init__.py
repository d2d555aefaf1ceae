"""This machine's facts and what to run on it (``edgemed doctor``; engine settings).

- :mod:`edgemed.hardware.facts`: raw system records and the facts parsed from them;
- :mod:`edgemed.hardware.advice`: device profiles (``profiles/*.toml``) and the pure decision.
"""

from __future__ import annotations

from pathlib import Path

from edgemed.hardware.advice import (
    TIER_ORDER,
    Advice,
    DeviceProfile,
    ModelChoice,
    advise,
    load_profiles,
    match_profile,
)
from edgemed.hardware.facts import Gpu, SystemFacts, SystemRecord, parse_facts, read_system_record


def catalog_choices() -> list[ModelChoice]:
    """The catalog's models as the advice sees them (an unreadable catalog offers none)."""
    from edgemed.catalog import load_catalog
    from edgemed.catalog.entries import READER_FAMILIES
    from edgemed.errors import EdgemedError

    try:
        catalog = load_catalog()
    except EdgemedError:
        return []
    return [
        ModelChoice(e.id, e.tier, e.artifact.ram_mb, e.artifact.size)
        for e in catalog.entries
        if e.artifact.family not in READER_FAMILIES
    ]


def advice_for(facts: SystemFacts, profile_id: str | None = None) -> Advice:
    """Advice for ``facts`` with the matching (or the named) device profile."""
    profiles = load_profiles()
    profile = profiles[profile_id] if profile_id else match_profile(facts, profiles)
    return advise(facts, catalog_choices(), profile)


def gather_facts(
    llama_gpu_offload: bool | None = None, llama_system_info: str = "", disk: Path | None = None
) -> SystemFacts:
    """This machine's facts; the llama.cpp build facts come from edgemed.inference."""
    return parse_facts(read_system_record(disk), llama_gpu_offload, llama_system_info)


__all__ = [
    "TIER_ORDER",
    "Advice",
    "DeviceProfile",
    "Gpu",
    "ModelChoice",
    "SystemFacts",
    "SystemRecord",
    "advice_for",
    "advise",
    "catalog_choices",
    "gather_facts",
    "load_profiles",
    "match_profile",
    "parse_facts",
    "read_system_record",
]
