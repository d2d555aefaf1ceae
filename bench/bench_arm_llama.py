"""llama.cpp for aarch64 with the bundle's Pi flags, run on the default model under qemu-user.

No Pi is here. This cross-compiles the llama.cpp that llama-cpp-python vendors (the sdist cached
by bench_llama under build/llama-bench/) for aarch64 with each Pi profile's ``cmake_args``
(edgemed/hardware/profiles/pi4.toml, pi5.toml: the flags the bundle's installer passes to
llama-cpp-python's build on the device), then runs ``llama-simple`` on the catalog default model
for a few tokens under ``qemu-aarch64`` emulating that Pi's core (Cortex-A72 for the Pi 4: no
dot-product instructions; Cortex-A76 for the Pi 5). The reference text is the same prompt
natively on x86_64 through the venv's llama.cpp (the same vendored version, greedy).

Needs Debian's ``gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static``. The Jetson
profile (CUDA) is not built: no CUDA toolkit for aarch64 here. By hand:
``python -m bench arm_llama`` (~10 min a profile to compile on 2 cores, cached under
build/llama-arm/).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "llama-arm"
SYSROOT = Path("/usr/aarch64-linux-gnu")
PROMPT = "The three signs of dehydration in a child are"
TOKENS = 12
# The Pi each profile is for, as qemu names its core.
CORES = {"pi4": "cortex-a72", "pi5": "cortex-a76"}
BY_HAND = True


def _say(message: str) -> None:
    print(message, flush=True)


def _profile_flags(profile: str) -> list[str]:
    from edgemed.hardware import load_profiles

    return load_profiles()[profile].cmake_args.split()


def build(profile: str, source: Path) -> Path:
    binary = CACHE / profile / "bin" / "llama-simple"
    if binary.is_file():
        return binary
    flags = _profile_flags(profile)
    _say(f"{profile}: cross-compiling llama-simple for aarch64 with {' '.join(flags)} ...")
    started = time.perf_counter()
    subprocess.run(
        [
            *("nice", "-n", "10", "cmake", "-S", str(source), "-B", str(CACHE / profile)),
            *("-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_SYSTEM_NAME=Linux"),
            *("-DCMAKE_SYSTEM_PROCESSOR=aarch64", "-DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc"),
            *("-DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++", "-DBUILD_SHARED_LIBS=OFF"),
            *("-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TESTS=OFF"),
            *("-DLLAMA_BUILD_TOOLS=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_EXAMPLES=ON"),
            *flags,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [
            "nice",
            "-n",
            "10",
            "cmake",
            "--build",
            str(CACHE / profile),
            "-j2",
            "--target",
            "llama-simple",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    _say(f"{profile}: built in {time.perf_counter() - started:.0f} s")
    return binary


def _simple(command: list[str]) -> tuple[float, str, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        detail = result.stderr[-2000:]
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{detail}")
    return seconds, result.stdout, result.stderr


def _native_text(model: Path) -> str:
    """The greedy continuation of PROMPT by the venv's llama.cpp (the same vendored version)."""
    from edgemed.inference import EngineSettings
    from edgemed.inference.llama import LlamaCppEngine

    engine = LlamaCppEngine(model, EngineSettings(2, 512))
    engine.load()
    tokens = engine.tokenize(PROMPT, special=True)
    text = "".join(engine._pieces(tokens, TOKENS, 0.0, None, None))
    engine.close()
    return text


def main() -> None:
    from bench.bench_llama import CACHE as NATIVE_CACHE
    from bench.bench_llama import llama_bench_binary
    from tests.inference.model_cache import shared_models_root

    for tool in ("aarch64-linux-gnu-g++", "qemu-aarch64-static"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} is missing: apt-get install gcc-aarch64-linux-gnu "
                "g++-aarch64-linux-gnu qemu-user-static"
            )
    llama_bench_binary()  # fetches the sdist (the vendored llama.cpp) if it is not there
    sources = sorted(NATIVE_CACHE.glob("llama_cpp_python-*/vendor/llama.cpp"))
    source = sources[-1]
    os.environ.setdefault("EDGEMED_MODELS_DIR", str(shared_models_root() / "models"))
    from edgemed.catalog import install

    model = install("default").entry_point
    args = ["-m", str(model), "-n", str(TOKENS), PROMPT]
    reference = _native_text(model)
    _say(f"x86_64 native (the venv's llama.cpp, greedy): {reference!r}")
    for profile in sys.argv[2:] or list(CORES):
        binary = build(profile, source)
        kind = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True)
        _say(f"{profile}: {kind.stdout.strip()[:110]}")
        command = ["qemu-aarch64-static", "-cpu", CORES[profile], "-L", str(SYSROOT)]
        seconds, text, log = _simple([*command, str(binary), *args])
        speed = [line.strip() for line in log.splitlines() if "decoded" in line or "eval" in line]
        _say(f"{profile} under qemu -cpu {CORES[profile]}: {seconds:.1f} s: {text.strip()!r}")
        for line in speed[-3:]:
            _say(f"    {line}")
        _say(f"    same continuation as native x86_64: {reference.strip() in text}")


if __name__ == "__main__":
    main()
