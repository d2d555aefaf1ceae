"""What this machine is: CPU, features, cores, memory, disk, GPU.

Facts are parsed from a :class:`SystemRecord` (the raw text of /proc/cpuinfo, the device-tree
model, nvidia-smi's answer, ...), never read directly by the advice: a record taken on a
Raspberry Pi or a Jetson can be replayed anywhere, which is how the advice is tested.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

# ARM "CPU part" numbers of the cores edgemed meets (from the Arm technical reference manuals).
ARM_CORES = {
    "0xd03": "Cortex-A53",
    "0xd08": "Cortex-A72",
    "0xd0b": "Cortex-A76",
    "0xd42": "Cortex-A78AE",
    "0xd41": "Cortex-A78",
    "0xd4b": "Cortex-A78C",
}


@dataclass(frozen=True)
class SystemRecord:
    """Raw system facts as read from the machine (or replayed from a recording)."""

    machine: str
    cpuinfo: str
    physical_cores: int
    logical_cores: int
    ram_mb: int
    available_ram_mb: int
    free_disk_mb: int
    device_tree_model: str = ""
    tegra_release: str = ""
    # `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`, if present.
    nvidia_smi: str = ""

    @classmethod
    def from_json(cls, text: str) -> SystemRecord:
        raw: dict[str, Any] = json.loads(text)
        return cls(**raw)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_mb: int
    # "cuda" (a discrete NVIDIA card) or "jetson" (integrated, sharing the board's RAM).
    kind: str


@dataclass(frozen=True)
class SystemFacts:
    machine: str
    cpu_model: str
    cpu_features: frozenset[str]
    physical_cores: int
    logical_cores: int
    ram_mb: int
    available_ram_mb: int
    free_disk_mb: int
    board: str = ""
    gpus: tuple[Gpu, ...] = ()
    # Whether the installed llama.cpp can offload to a GPU; None when llama.cpp is not installed.
    llama_gpu_offload: bool | None = None
    llama_system_info: str = ""
    simd: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_arm(self) -> bool:
        return self.machine in ("aarch64", "arm64", "armv7l")


def _field(cpuinfo: str, name: str) -> str:
    for line in cpuinfo.splitlines():
        key, _sep, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return ""


def _simd(machine: str, features: frozenset[str]) -> tuple[str, ...]:
    """The instruction sets llama.cpp's CPU kernels care about, by their usual names."""
    if machine in ("x86_64", "amd64"):
        names = [("AVX", "avx"), ("AVX2", "avx2"), ("FMA", "fma"), ("F16C", "f16c")]
        names += [("AVX-512", "avx512f"), ("AVX-VNNI", "avx_vnni")]
        return tuple(label for label, flag in names if flag in features)
    names = [("NEON", "asimd"), ("dotprod", "asimddp"), ("i8mm", "i8mm"), ("SVE", "sve")]
    names += [("fp16", "asimdhp")]
    return tuple(label for label, flag in names if flag in features)


def _gpus(record: SystemRecord) -> tuple[Gpu, ...]:
    found: list[Gpu] = []
    for line in record.nvidia_smi.strip().splitlines():
        name, _sep, memory = line.rpartition(",")
        try:
            found.append(Gpu(name.strip(), int(float(memory.strip())), "cuda"))
        except ValueError:
            continue
    jetson = bool(record.tegra_release) or "jetson" in record.device_tree_model.lower()
    if jetson and not any(g.kind == "jetson" for g in found):
        # Jetson's GPU has no memory of its own: it shares the board's RAM.
        found = [Gpu("NVIDIA Jetson integrated GPU", record.ram_mb, "jetson")]
    return tuple(found)


def parse_facts(
    record: SystemRecord, llama_gpu_offload: bool | None = None, llama_system_info: str = ""
) -> SystemFacts:
    """Turn a raw record into facts (pure: the same record gives the same facts anywhere)."""
    cpuinfo = record.cpuinfo
    flags = _field(cpuinfo, "flags") or _field(cpuinfo, "Features")
    features = frozenset(flags.split())
    model = _field(cpuinfo, "model name")
    if not model:
        part = _field(cpuinfo, "CPU part").lower()
        model = ARM_CORES.get(part, _field(cpuinfo, "Hardware") or record.machine)
    board = record.device_tree_model.strip("\x00 \n")
    return SystemFacts(
        machine=record.machine,
        cpu_model=model,
        cpu_features=features,
        # Never more cores than CPUs this process may use (psutil counts the whole host).
        physical_cores=max(1, min(record.physical_cores, record.logical_cores or 1)),
        logical_cores=record.logical_cores,
        ram_mb=record.ram_mb,
        available_ram_mb=record.available_ram_mb,
        free_disk_mb=record.free_disk_mb,
        board=board,
        gpus=_gpus(record),
        llama_gpu_offload=llama_gpu_offload,
        llama_system_info=llama_system_info,
        simd=_simd(record.machine, features),
    )


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _nvidia_smi() -> str:
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return ""
    query = ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]
    try:
        result = subprocess.run(
            [executable, *query], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout if result.returncode == 0 else ""


def _usable_cpus() -> list[int]:
    """The logical CPUs this process may run on (a container or taskset may allow fewer)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def physical_cores_of(cpus: list[int], sys_cpu: Path = Path("/sys/devices/system/cpu")) -> int:
    """Distinct (package, core) pairs among ``cpus``, from Linux's CPU topology; 0 if unknown.

    Two hyper-threads of one core share its arithmetic units, so llama.cpp runs no faster on
    both than on one: threads are counted in these cores, not in logical CPUs.
    """
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        topology = sys_cpu / f"cpu{cpu}" / "topology"
        core = _read(str(topology / "core_id")).strip()
        if not core:
            return 0
        cores.add((_read(str(topology / "physical_package_id")).strip(), core))
    return len(cores)


def read_system_record(disk_path: Path | None = None) -> SystemRecord:
    """Read this machine's raw facts (Linux /proc and /sys; other systems give what psutil has)."""
    memory = psutil.virtual_memory()
    where = disk_path if disk_path is not None else Path.home()
    while not where.exists() and where != where.parent:
        where = where.parent
    cpus = _usable_cpus()
    physical = physical_cores_of(cpus)
    return SystemRecord(
        machine=platform.machine().lower(),
        cpuinfo=_read("/proc/cpuinfo"),
        physical_cores=physical or psutil.cpu_count(logical=False) or len(cpus),
        logical_cores=len(cpus),
        ram_mb=memory.total // 2**20,
        available_ram_mb=memory.available // 2**20,
        free_disk_mb=shutil.disk_usage(where).free // 2**20,
        device_tree_model=_read("/proc/device-tree/model"),
        tegra_release=_read("/etc/nv_tegra_release"),
        nvidia_smi=_nvidia_smi(),
    )
