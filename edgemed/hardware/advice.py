"""From system facts to advice: which device profile, model tier, quant, threads, context, GPU.

Device profiles (``profiles/*.toml``: Pi 4, Pi 5, Jetson Orin Nano, laptop) hold what was
learnt about each class of machine, including the llama.cpp build flags and the Argon2 memory
cost the deployment uses. The decision is a pure function of facts + profile + catalog, so the
advice for a Pi or a Jetson is tested here with recorded facts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

from edgemed.hardware.facts import SystemFacts
from edgemed.i18n import _

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 on older Pi OS images
    import tomli as tomllib

TIER_ORDER = ("small", "medium", "large")


@dataclass(frozen=True)
class DeviceProfile:
    id: str
    name: str
    board_contains: tuple[str, ...]
    threads: int
    max_threads: int
    context: int
    batch: int
    max_tier: str
    quant: str
    gpu_layers: int
    reserve_mb: int
    cmake_args: str
    cuda_cmake_args: str
    argon2_memory_kib: int
    argon2_time_cost: int
    notes: tuple[str, ...]

    @classmethod
    def from_toml(cls, raw: dict[str, Any]) -> DeviceProfile:
        return cls(
            id=str(raw["id"]),
            name=str(raw["name"]),
            board_contains=tuple(raw.get("board_contains", [])),
            threads=int(raw["threads"]),
            max_threads=int(raw.get("max_threads", raw["threads"])),
            context=int(raw["context"]),
            batch=int(raw.get("batch", 512)),
            max_tier=str(raw["max_tier"]),
            quant=str(raw["quant"]),
            gpu_layers=int(raw.get("gpu_layers", 0)),
            reserve_mb=int(raw.get("reserve_mb", 1000)),
            cmake_args=str(raw["cmake_args"]),
            cuda_cmake_args=str(raw.get("cuda_cmake_args", raw["cmake_args"])),
            argon2_memory_kib=int(raw["argon2_memory_kib"]),
            argon2_time_cost=int(raw["argon2_time_cost"]),
            notes=tuple(raw.get("notes", [])),
        )


def load_profiles() -> dict[str, DeviceProfile]:
    folder = resources.files("edgemed.hardware") / "profiles"
    profiles: dict[str, DeviceProfile] = {}
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".toml"):
            profile = DeviceProfile.from_toml(tomllib.loads(item.read_text(encoding="utf-8")))
            profiles[profile.id] = profile
    return profiles


def match_profile(facts: SystemFacts, profiles: dict[str, DeviceProfile]) -> DeviceProfile:
    """The profile whose board name matches; a Jetson GPU means Jetson; else the laptop."""
    board = facts.board.lower()
    for profile in profiles.values():
        if any(token.lower() in board for token in profile.board_contains):
            return profile
    if any(g.kind == "jetson" for g in facts.gpus):
        return profiles["jetson-orin-nano"]
    return profiles["laptop"]


@dataclass(frozen=True)
class ModelChoice:
    """What the advice needs to know of a catalog model."""

    id: str
    tier: str
    ram_mb: int
    size: int


@dataclass(frozen=True)
class Advice:
    profile: DeviceProfile
    model_id: str | None
    tier: str
    quant: str
    threads: int
    context: int
    batch: int
    gpu_layers: int
    backend: str
    # Why a GPU that exists is not used ("" when it is used or when there is none to use).
    fallback_reason: str
    cmake_args: str
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


def _threads(facts: SystemFacts, profile: DeviceProfile) -> int:
    wanted = profile.threads or facts.physical_cores
    return max(1, min(wanted, facts.physical_cores or 1, profile.max_threads))


def _pick_model(
    facts: SystemFacts, profile: DeviceProfile, models: list[ModelChoice], max_tier: str
) -> tuple[ModelChoice | None, int]:
    budget = min(facts.ram_mb - profile.reserve_mb, facts.available_ram_mb)
    allowed = TIER_ORDER[: TIER_ORDER.index(max_tier) + 1]
    fitting = [m for m in models if m.tier in allowed and m.ram_mb <= budget]
    fitting.sort(key=lambda m: (TIER_ORDER.index(m.tier), -m.ram_mb))
    return (fitting[-1] if fitting else None), budget


def advise(facts: SystemFacts, models: list[ModelChoice], profile: DeviceProfile) -> Advice:
    """What to run on this machine, and why; a pure function of its arguments."""
    warnings: list[str] = []
    max_tier = profile.max_tier
    if facts.machine in ("x86_64", "amd64") and "AVX2" not in facts.simd:
        # Without AVX2 llama.cpp falls back to SSE kernels, several times slower.
        max_tier = "small"
        warnings.append(_("This CPU has no AVX2: only the small model will answer quickly."))
    if facts.is_arm and "dotprod" not in facts.simd:
        warnings.append(
            _("This ARM CPU has no dot-product instructions: use Q4_0 models, keep replies short.")
        )
    gpu_usable = bool(facts.gpus) and bool(facts.llama_gpu_offload)
    if not gpu_usable and facts.physical_cores < 4 and max_tier == "large":
        # Reading a 300-token prompt through a 1.5B model takes seconds on two cores; the
        # nurse waits for the first word, so a small CPU gets the medium model at most.
        max_tier = "medium"
    choice, budget = _pick_model(facts, profile, models, max_tier)
    if choice is None:
        warnings.append(
            _(
                "Only {budget} MB of memory can be spared: no model fits, edgemed runs rules-only."
            ).format(budget=max(budget, 0))
        )
    context = profile.context
    if choice is not None and budget - choice.ram_mb < 512:
        context = min(context, 2048)  # the KV cache grows with the context: keep some headroom
    backend, gpu_layers, reason = _gpu_decision(facts, profile, choice)
    cmake = profile.cuda_cmake_args if facts.gpus else profile.cmake_args
    if facts.free_disk_mb < 2048:
        warnings.append(
            _("Only {free} MB of disk is free: the encounter log needs room too.").format(
                free=facts.free_disk_mb
            )
        )
    return Advice(
        profile=profile,
        model_id=choice.id if choice else None,
        tier=choice.tier if choice else "none",
        quant=profile.quant,
        threads=_threads(facts, profile),
        context=context,
        batch=profile.batch,
        gpu_layers=gpu_layers,
        backend=backend,
        fallback_reason=reason,
        cmake_args=cmake,
        warnings=tuple(warnings),
        notes=profile.notes,
    )


def _gpu_decision(
    facts: SystemFacts, profile: DeviceProfile, choice: ModelChoice | None
) -> tuple[str, int, str]:
    """(backend, gpu layers, why not the GPU)."""
    if not facts.gpus:
        if profile.id == "jetson-orin-nano":
            return "cpu", 0, _("No CUDA device is visible: is JetPack's CUDA runtime installed?")
        return "cpu", 0, ""
    gpu = max(facts.gpus, key=lambda g: g.memory_mb)
    if facts.llama_gpu_offload is None:
        return (
            "cpu",
            0,
            _("llama.cpp is not installed, so the {gpu} cannot be used.").format(gpu=gpu.name),
        )
    if not facts.llama_gpu_offload:
        return (
            "cpu",
            0,
            _(
                "A GPU is present ({gpu}) but this llama.cpp build has no GPU support: it runs "
                'on the CPU. Rebuild with CMAKE_ARGS="{cmake}" to use it.'
            ).format(gpu=gpu.name, cmake=profile.cuda_cmake_args),
        )
    if choice is None:
        return "cpu", 0, _("No model fits this machine's memory.")
    needed = choice.ram_mb if gpu.kind == "cuda" else 0
    if gpu.kind == "cuda" and gpu.memory_mb < needed + 300:
        return (
            "cpu",
            0,
            _(
                "The {gpu} has {have} MB; {model} needs about {need} MB there: it runs on the CPU."
            ).format(gpu=gpu.name, have=gpu.memory_mb, model=choice.id, need=needed + 300),
        )
    return "cuda", profile.gpu_layers or 999, ""
