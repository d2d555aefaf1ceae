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
profile's wheel (``wheel jetson-orin-nano``, ~17 min) is built with CUDA: this machine's nvcc for
sm_87 with the aarch64 g++ as its host compiler, and NVIDIA's aarch64 runtime and cuBLAS from PyPI
(``cuda_toolkit_aarch64``); bench_aarch64 runs it on the CPU. By hand:
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


# -- CUDA for aarch64 (the Jetson profile) ------------------------------------------------------
# No JetPack here. What a cross build of the Jetson's flags needs: this machine's nvcc (x86_64;
# it compiles device code for any architecture it lists, sm_87 included, and host code with the
# aarch64 g++), and the CUDA runtime and cuBLAS built for aarch64, which NVIDIA publishes on
# PyPI (nvidia-cuda-runtime, nvidia-cublas: the libraries and headers, for the nvcc release
# found). The driver (libcuda) is the board's: a stub with its entry points (from cuda.h) stands
# in for linking, as the toolkit's own lib/stubs/libcuda.so does.
CUDA_TARGET = "aarch64-linux"


def _host_cuda() -> tuple[Path, str]:
    """The host CUDA toolkit (the folder of nvcc's bin/) and its release, e.g. 13.0.88."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise SystemExit("nvcc is not on PATH: the Jetson's flags need a CUDA toolkit")
    found = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=True)
    release = re.search(r"\bV(\d+\.\d+\.\d+)", found.stdout)
    # nvcc's dry run prints where it lives (the PATH entry may be a wrapper script).
    dry = [nvcc, "--dryrun", "-c", "-x", "cu", os.devnull, "-o", os.devnull]
    listed = subprocess.run(dry, capture_output=True, text=True, check=False)
    top = re.search(r"#\$ _HERE_=(\S+)", listed.stdout + listed.stderr)
    if release is None or top is None:
        raise SystemExit(f"cannot read the release and folder of {nvcc}")
    return Path(top.group(1)).resolve().parent, release.group(1)


def _cuda_stub(include: Path, out: Path) -> None:
    """An aarch64 libcuda.so (soname libcuda.so.1) exporting every cu* function of cuda.h."""
    expanded = subprocess.run(
        ["aarch64-linux-gnu-gcc", "-E", "-I", str(include), str(include / "cuda.h")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = sorted(set(re.findall(r"\bCUresult\s+(cu\w+)\s*\(", expanded)))
    source = out.with_suffix(".c")
    source.write_text("".join(f"int {name}(void) {{ return 999; }}\n" for name in names))
    command = ["aarch64-linux-gnu-gcc", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1"]
    subprocess.run([*command, "-o", str(out), str(source)], check=True)


def cuda_toolkit_aarch64() -> Path:
    """A CUDA toolkit folder whose ``targets/aarch64-linux`` holds aarch64 libraries: nvcc and
    its tools from this machine (nvcc copied, so that its ``TOP`` is this folder), headers from
    it plus cuBLAS's, and the aarch64 runtime and cuBLAS from PyPI. Cached in
    build/llama-arm/cuda-aarch64/."""
    root = CACHE / "cuda-aarch64"
    toolkit = root / "toolkit"
    if (toolkit / "ready").is_file():
        return toolkit
    host, release = _host_cuda()
    major_minor = ".".join(release.split(".")[:2])
    _say(f"CUDA {release} for aarch64: nvcc from {host}, runtime and cuBLAS from PyPI ...")
    shutil.rmtree(root, ignore_errors=True)
    wheels = root / "wheels"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
            *("--disable-pip-version-check", "--quiet", "--dest", str(wheels)),
            *("--platform", "manylinux_2_27_aarch64", "--platform", "manylinux_2_17_aarch64"),
            *("--platform", "manylinux2014_aarch64", "--python-version", "3.11"),
            f"nvidia-cuda-runtime=={release}",
            f"nvidia-cublas=={major_minor}.*",
        ],
        check=True,
    )
    unpacked = root / "unpacked"
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)
    found = sorted(unpacked.glob("nvidia/cu*/lib"))
    if not found:
        raise SystemExit(f"no nvidia/cu*/lib in the wheels of {wheels}")
    libraries, headers = found[0], found[0].parent / "include"
    (toolkit / "bin").mkdir(parents=True)
    for tool in (host / "bin").iterdir():
        if tool.name in ("nvcc", "nvcc.profile"):
            shutil.copy2(tool, toolkit / "bin" / tool.name)
        else:
            (toolkit / "bin" / tool.name).symlink_to(tool)
    for name in ("nvvm", "include", "lib", "lib64"):
        if (host / name).exists():
            (toolkit / name).symlink_to((host / name).resolve())
    (toolkit / "targets").mkdir()
    (toolkit / "targets" / "x86_64-linux").symlink_to(host / "targets" / "x86_64-linux")
    target = toolkit / "targets" / CUDA_TARGET
    (target / "include").mkdir(parents=True)
    for header in sorted((host / "include").iterdir()):
        (target / "include" / header.name).symlink_to(header.resolve())
    for header in sorted(headers.iterdir()):
        if not (target / "include" / header.name).exists():
            (target / "include" / header.name).symlink_to(header)
    (target / "lib" / "stubs").mkdir(parents=True)
    for library in sorted(libraries.iterdir()):
        (target / "lib" / library.name).symlink_to(library)
        if ".so." in library.name:
            plain = target / "lib" / library.name.split(".so.")[0]
            plain.with_name(plain.name + ".so").symlink_to(library)
    _cuda_stub(target / "include", target / "lib" / "stubs" / "libcuda.so")
    (toolkit / "ready").write_text(release + "\n")
    return toolkit


def cuda_cross_flags() -> list[str]:
    """What cross-compiling CUDA adds to the toolchain: this nvcc, the aarch64 g++ as its host
    compiler, and the aarch64 target folder for its headers and libraries."""
    toolkit = cuda_toolkit_aarch64()
    return [
        f"-DCMAKE_CUDA_COMPILER={toolkit / 'bin' / 'nvcc'}",
        "-DCMAKE_CUDA_HOST_COMPILER=aarch64-linux-gnu-g++",
        f"-DCUDAToolkit_ROOT={toolkit}",
        f"-DCMAKE_CUDA_FLAGS=--target-directory={CUDA_TARGET}",
    ]


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


def _glibc_of(profile: str) -> tuple[int, ...]:
    """The glibc of the target's OS (edgemed/bundle/targets.toml): 2.35 on JetPack 6, else
    bookworm's."""
    from edgemed.bundle.targets import find_target

    try:
        return min(GLIBC, tuple(map(int, find_target(profile).glibc.split("."))))
    except Exception:  # a profile with no bundle target: bookworm's
        return GLIBC


def _needed(library: Path) -> list[str]:
    dynamic = subprocess.run(
        ["aarch64-linux-gnu-objdump", "-p", str(library)], capture_output=True, text=True
    ).stdout
    return re.findall(r"NEEDED\s+(\S+)", dynamic)


def check_wheel(wheel: Path, glibc_limit: tuple[int, ...] = GLIBC) -> list[str]:
    """Every shared library of ``wheel`` is aarch64 and needs no glibc newer than
    ``glibc_limit`` (bookworm's by default) nor a libstdc++ newer than GCC 12's; one line for each
    library the package loads (llama_cpp/lib/*.so), with the CUDA libraries it needs if any."""
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
            if "ARM aarch64" not in kind.stdout or glibc > glibc_limit or glibcxx > GLIBCXX:
                raise SystemExit(f"{name}: {kind.stdout.strip()}; needs {glibc} {glibcxx}")
            if name.startswith("llama_cpp/lib/") and name.endswith(".so"):
                short = ",".join(kind.stdout.split(",")[:2])
                needs = f"GLIBC_{'.'.join(map(str, glibc))}"
                if glibcxx > (0,):
                    needs += f", GLIBCXX_{'.'.join(map(str, glibcxx))}"
                cuda = [n for n in _needed(library) if n.startswith(("libcu", "libcublas"))]
                if cuda:
                    needs += f"; links {', '.join(cuda)}"
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
        for line in check_wheel(found[-1], _glibc_of(profile)):
            _say(f"    {line}")
        return found[-1]
    sdist = _sdist()
    flags = _profile_flags(profile)
    cuda = cuda_cross_flags() if "-DGGML_CUDA=ON" in flags else []
    _say(f"{profile}: cross-compiling {sdist.name} for aarch64 with {' '.join(flags)} ...")
    started = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # _PYTHON_HOST_PLATFORM: the platform tag the build backend writes (sysconfig's), as when
    # cross-compiling CPython's own extensions.
    environment = {
        **os.environ,
        "CMAKE_ARGS": " ".join([*TOOLCHAIN, *cuda, *flags]),
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
    for line in check_wheel(wheel, _glibc_of(profile)):
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
