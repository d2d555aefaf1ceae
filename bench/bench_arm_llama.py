"""llama.cpp for aarch64 with the bundle's Pi flags, run on the default model under qemu-user.

No Pi is here. This cross-compiles the llama.cpp that llama-cpp-python vendors (the sdist cached
by bench_llama under build/llama-bench/) for aarch64 with each Pi profile's ``cmake_args``
(edgemed/hardware/profiles/pi4.toml, pi5.toml: the flags the bundle's installer passes to
llama-cpp-python's build on the device), then runs ``llama-simple`` on the catalog default model
for a few tokens under ``qemu-aarch64`` emulating that Pi's core (Cortex-A72 for the Pi 4: no
dot-product instructions; Cortex-A76 for the Pi 5). The reference text is the same prompt
natively on x86_64 through the venv's llama.cpp (the same vendored version, greedy).

``build_wheel(profile)`` cross-compiles llama-cpp-python itself (the same sdist, its own
scikit-build-core backend, ``CMAKE_ARGS`` = the cross toolchain + the profile's flags exactly)
into a ``py3-none-linux_aarch64`` wheel, checks that every library in it is aarch64 and needs
no glibc/libstdc++ newer than bookworm's, and caches it in build/llama-arm/wheels/<profile>/:
``edgemed bundle build --llama-wheel`` takes it (bench_aarch64 installs it in the emulated Pi).
Only the wheels: ``python -m bench.bench_arm_llama wheel [pi5 pi4]`` (~6 min each here).

Needs Debian's ``gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static``. The Jetson
profile (CUDA) is not built: no CUDA toolkit for aarch64 here. By hand:
``python -m bench arm_llama`` (EDGEMED_ARM_PROFILES="pi4 pi5" by default; ~10 min a profile to
compile on 2 cores, cached under build/llama-arm/).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata
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


# What cross-compiling adds to a profile's flags, and nothing else: the target system and the
# Debian aarch64 toolchain, with libraries and headers looked up in its sysroot only.
TOOLCHAIN = [
    "-DCMAKE_SYSTEM_NAME=Linux",
    "-DCMAKE_SYSTEM_PROCESSOR=aarch64",
    "-DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc",
    "-DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++",
    f"-DCMAKE_FIND_ROOT_PATH={SYSROOT}",
    "-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER",
    "-DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY",
    "-DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY",
]
# bookworm's (Raspberry Pi OS 12, Debian 12): no symbol of a newer one may be needed.
GLIBC = (2, 36)
GLIBCXX = (3, 4, 30)  # libstdc++ of GCC 12, bookworm's


def _sdist() -> Path:
    from bench.bench_llama import CACHE as NATIVE_CACHE
    from bench.bench_llama import llama_bench_binary

    version = metadata.version("llama_cpp_python")
    sdist = NATIVE_CACHE / f"llama_cpp_python-{version}.tar.gz"
    if not sdist.is_file():
        llama_bench_binary()  # fetches the sdist of the installed version
    return sdist


def _versions_needed(library: Path, prefix: str) -> tuple[int, ...]:
    """The newest ``prefix`` symbol version (GLIBC_, GLIBCXX_) that ``library`` needs."""
    symbols = subprocess.run(
        ["aarch64-linux-gnu-objdump", "-T", str(library)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(rf"\b{prefix}_([0-9.]+)\b", symbols)
    return max((tuple(map(int, v.split("."))) for v in found), default=(0,))


def check_wheel(wheel: Path) -> list[str]:
    """Every shared library of ``wheel`` is aarch64 and needs no glibc or libstdc++ newer than
    bookworm's; one line for each library the package loads (llama_cpp/lib/*.so)."""
    lines = []
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if ".so" in Path(n).name]
        if not names:
            raise SystemExit(f"{wheel.name} holds no shared library")
        for name in names:
            library = Path(archive.extract(name, scratch))
            kind = subprocess.run(["file", "-b", str(library)], capture_output=True, text=True)
            glibc = _versions_needed(library, "GLIBC")
            glibcxx = _versions_needed(library, "GLIBCXX")
            if "ARM aarch64" not in kind.stdout or glibc > GLIBC or glibcxx > GLIBCXX:
                raise SystemExit(f"{name}: {kind.stdout.strip()}; needs {glibc} {glibcxx}")
            if name.startswith("llama_cpp/lib/") and name.endswith(".so"):
                short = ",".join(kind.stdout.split(",")[:2])
                needs = f"GLIBC_{'.'.join(map(str, glibc))}"
                if glibcxx > (0,):
                    needs += f", GLIBCXX_{'.'.join(map(str, glibcxx))}"
                lines.append(f"{name}: {short}; needs {needs}")
    return lines


def build_wheel(profile: str = "pi5") -> Path:
    """llama-cpp-python's wheel for aarch64, compiled with exactly ``profile``'s cmake_args.

    The same sdist the bundle carries, built by its own backend (scikit-build-core) with
    ``CMAKE_ARGS`` = the cross toolchain + the profile's flags: what the installer would compile
    on the device. The wheel is pure Python plus llama.cpp's shared libraries (ctypes), so its
    tag is py3-none-linux_aarch64. Cached in build/llama-arm/wheels/<profile>/.
    """
    out = CACHE / "wheels" / profile
    found = sorted(out.glob("llama_cpp_python-*-py3-none-linux_aarch64.whl"))
    if found:
        _say(f"{profile}: wheel cached: {found[-1]}")
        for line in check_wheel(found[-1]):
            _say(f"    {line}")
        return found[-1]
    sdist = _sdist()
    flags = _profile_flags(profile)
    _say(f"{profile}: cross-compiling {sdist.name} for aarch64 with {' '.join(flags)} ...")
    started = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # _PYTHON_HOST_PLATFORM: the platform tag the build backend writes (sysconfig's), as when
    # cross-compiling CPython's own extensions.
    environment = {
        **os.environ,
        "CMAKE_ARGS": " ".join([*TOOLCHAIN, *flags]),
        "_PYTHON_HOST_PLATFORM": "linux-aarch64",
        "CMAKE_BUILD_PARALLEL_LEVEL": "2",
    }
    log = CACHE / f"wheel-{profile}.log"
    with log.open("w") as stream:
        result = subprocess.run(
            [
                *("nice", "-n", "10", sys.executable, "-m", "pip", "wheel", "--no-deps"),
                *("--disable-pip-version-check", "--no-cache-dir", "-w", str(out)),
                f"--config-settings=build-dir={CACHE / 'wheel-build' / profile}",
                str(sdist),
            ],
            env=environment,
            stdout=stream,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise SystemExit(f"{profile}: the wheel did not build; see {log}")
    built = sorted(out.glob("llama_cpp_python-*.whl"))
    wheel = built[-1]
    if not wheel.name.endswith("-py3-none-linux_aarch64.whl"):
        raise SystemExit(f"{profile}: built {wheel.name}, expected a linux_aarch64 tag")
    _say(f"{profile}: {wheel.name} in {time.perf_counter() - started:.0f} s")
    for line in check_wheel(wheel):
        _say(f"    {line}")
    return wheel


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
    for profile in os.environ.get("EDGEMED_ARM_PROFILES", " ".join(CORES)).split():
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
    # python -m bench.bench_arm_llama wheel [PROFILE ...]: only the wheels (default pi5).
    if sys.argv[1:2] == ["wheel"]:
        for name in sys.argv[2:] or ["pi5"]:
            build_wheel(name)
    else:
        main()
