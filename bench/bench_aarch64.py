"""The aarch64 proof under emulation: Raspberry Pi bundles installed in an arm64 Debian.

No Pi is here, so this runs the Pi's own binaries (Debian bookworm arm64, the aarch64 wheels of
the bundle, llama.cpp compiled with the Pi's flags) through qemu-user with binfmt_misc, in a
chroot with no network, qemu emulating the Pi's core (QEMU_CPU: Cortex-A76 for the Pi 5,
Cortex-A72 for the Pi 4; qemu's default "max" core would hide a missing instruction):

1. an arm64 Debian root made by debootstrap (cached in /var/tmp/edgemed-aarch64/root), with
   libgomp1 (the targets' system package the OpenMP build of llama.cpp needs);
2. llama-cpp-python cross-compiled for aarch64 with exactly the profile's ``cmake_args``
   (bench_arm_llama.build_wheel, cached in build/llama-arm/wheels/<profile>/);
3. ``edgemed bundle build --target pi5 --model default --llama-wheel WHEEL`` here (pi4 alike),
   signed by a throwaway deployer key;
4. in the chroot, with no network and the Pi's /proc/cpuinfo (qemu-user 7.2 shows the host's):
   the full ``sh install.sh --deployer-key deployer.pub`` (every file checked, llama.cpp and the
   model installed, the model imported);
5. in the chroot: the installed edgemed's engine generates a few greedy tokens with the default
   model (open_engine("default"), the app's path); the same natively here is the reference;
6. negative checks: the Pi 5 build on an emulated Cortex-A72 dies of SIGILL, and the installer
   refuses the Pi 5 bundle on a Pi 4's /proc/cpuinfo;
7. ``edgemed assess`` (the deterministic protocol) on two cases and the encrypted store's round trip
   (tests/bundle/store_roundtrip.py), against the same natively: decisions must be equal;
8. with ``jetson-orin-nano`` in EDGEMED_ARM_TARGETS: the Jetson's CUDA build (cross-compiled by
   bench_arm_llama) loaded by the installed engine in place of its own llama.cpp, every layer
   asked on the GPU: with no GPU its CUDA backend must find no device and the CPU give the Pi 5
   build's text; and with no driver at all (no libcuda.so.1), ``edgemed doctor`` must say that
   llama.cpp does not load and why, exit 0, no traceback (``_jetson_on_the_cpu``).

~5 min for pi5 and pi4 here once cached (each wheel 4-7 min to cross-compile the first time, the
debootstrap ~3 min); needs root; not part of CI. Results: docs/deploy.md ("The emulated Pi
installs"). Needs debootstrap, binfmt-support, qemu-user-static, gcc/g++-aarch64-linux-gnu.
``sudo .venv/bin/python -m bench aarch64``. Environment: EDGEMED_ARM64_ROOT (the chroot),
EDGEMED_ARM_TARGETS (default "pi5"; "pi5 pi4" installs and runs the Pi 4 bundle too),
EDGEMED_BENCH_WHEELHOUSE (build offline), EDGEMED_TEST_MODELS (the models cache, as in tests).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("EDGEMED_ARM64_ROOT", "/var/tmp/edgemed-aarch64/root"))
WORK = ROOT.parent
MIRROR = "http://deb.debian.org/debian"
REPO = Path(__file__).resolve().parent.parent
CASES = {
    "routine adult": {"patient": {"age_years": 40}, "vitals": {"hr": 80, "rr": 16}},
    "shocked adult with chest pain": {
        "patient": {"age_years": 52},
        "vitals": {"hr": 118, "rr": 24, "sbp": 88},
        "findings": ["chest_pain"],
    },
}
NICE = ["nice", "-n", "19"]
TOKENS = 16
# The core qemu emulates for each target, and the /proc/cpuinfo of that Pi (Raspberry Pi OS
# 64-bit, one core shown of four): qemu-user 7.2 passes the host's x86 cpuinfo through, which
# the installer would read as a CPU without asimddp.
CORES = {"pi5": "cortex-a76", "pi4": "cortex-a72"}
_CPUINFO_CORE = """processor\t: {n}
BogoMIPS\t: 108.00
Features\t: {features}
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: {variant}
CPU part\t: {part}
CPU revision\t: {revision}

"""
_PI = {
    "pi5": ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
            "lrcpc dcpop asimddp", "0x4", "0xd0b", "1", "Raspberry Pi 5 Model B Rev 1.0"),
    "pi4": ("fp asimd evtstrm crc32 cpuid", "0x0", "0xd08", "3", "Raspberry Pi 4 Model B Rev 1.4"),
}  # fmt: skip


def _cpuinfo(target: str) -> str:
    features, variant, part, revision, model = _PI[target]
    cores = "".join(
        _CPUINFO_CORE.format(n=n, features=features, variant=variant, part=part, revision=revision)
        for n in range(4)
    )
    return cores + f"Revision\t: 0\nSerial\t\t: 0\nModel\t\t: {model}\n"


# Run by the installed edgemed's Python in the root (and by the venv's here, the reference).
GENERATE = r"""
import ctypes, json, platform, sys, time
import llama_cpp
from edgemed.inference import ChatMessage, EngineSettings, open_engine
# AT_HWCAP bits on aarch64 (asm/hwcap.h): the core qemu emulates, as the process sees it.
BITS = {"asimd": 1, "atomics": 8, "asimdhp": 10, "asimddp": 20, "sve": 22}
hwcap = []
if platform.machine() == "aarch64":
    libc = ctypes.CDLL(None)
    libc.getauxval.restype = ctypes.c_ulong
    hwcap = [n for n, b in BITS.items() if libc.getauxval(16) >> b & 1]
started = time.perf_counter()
# Fixed settings on both sides (2 threads: this machine's cores), so only the CPU differs.
engine = open_engine("default", EngineSettings(threads=2, context=1024, batch=256))
loaded = time.perf_counter() - started
prompt = "What are three signs of dehydration in a child?"
text = engine.complete([ChatMessage("user", prompt)], max_tokens=int(sys.argv[1]))
stats = engine.last_generation
# Where two builds part: the log-probability of each one's next words after the common part.
candidates = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
scores = engine.score([ChatMessage("user", prompt)], candidates) if candidates else {}
print(json.dumps({
    "machine": platform.machine(), "hwcap": hwcap, "llama_cpp": llama_cpp.__version__,
    "system_info": llama_cpp.llama_print_system_info().decode().strip(),
    "model": engine.info.model_id, "load_s": round(loaded, 2),
    "tokens": stats.generated_tokens, "first_token_s": round(stats.first_token_s, 2),
    "total_s": round(stats.total_s, 2), "text": text,
    "scores": {k: round(v, 4) for k, v in scores.items()},
}))
"""
# The Jetson's CUDA build, checked on the CPU: the same script with gpu_layers=999 (the Jetson
# profile's), llama.cpp's log (stderr) kept to show what its CUDA backend found.
GENERATE_OFFLOAD = r"""
import ctypes, json, os, platform, sys
import llama_cpp
from edgemed.inference import ChatMessage, EngineSettings, open_engine
settings = EngineSettings(threads=2, context=1024, batch=256, gpu_layers=999)
engine = open_engine("default", settings)
# ggml's backend registry: each backend this llama.cpp was built with, and the devices it found.
ggml = ctypes.CDLL(os.path.join(os.environ["LLAMA_CPP_LIB_PATH"], "libggml.so"))
ggml.ggml_backend_reg_get.restype = ctypes.c_void_p
ggml.ggml_backend_reg_name.restype = ctypes.c_char_p
ggml.ggml_backend_reg_name.argtypes = ggml.ggml_backend_reg_dev_count.argtypes = [ctypes.c_void_p]
backends = {}
for i in range(ggml.ggml_backend_reg_count()):
    reg = ggml.ggml_backend_reg_get(i)
    backends[ggml.ggml_backend_reg_name(reg).decode()] = ggml.ggml_backend_reg_dev_count(reg)
with open("/proc/self/maps") as maps:
    loaded = sorted({os.path.basename(line.split()[-1]) for line in maps
                     if "/mnt/" in line and ".so" in line})
text = engine.complete([ChatMessage("user", "What are three signs of dehydration in a child?")],
                       max_tokens=int(sys.argv[1]))
print(json.dumps({
    "machine": platform.machine(),
    "gpu_offload_build": bool(llama_cpp.llama_supports_gpu_offload()),
    "system_info": llama_cpp.llama_print_system_info().decode().strip(),
    "tokens": engine.last_generation.generated_tokens, "text": text,
    "backends": backends, "loaded": loaded,
}))
"""
# BY_HAND: `make bench` skips this one: name it to run it (`python -m bench aarch64`).
BY_HAND = True
JETSON = "jetson-orin-nano"


def _say(message: str) -> None:
    print(message, flush=True)


def _run(
    command: list[str], *, stdin: str = "", check: bool = True, env: dict[str, str] | None = None
) -> tuple[float, str, int]:
    started = time.perf_counter()
    result = subprocess.run(
        command, input=stdin, capture_output=True, text=True, check=False, env=env
    )
    seconds = time.perf_counter() - started
    # stderr first: the last lines are the program's own output (JSON where it prints some).
    output = (result.stderr + result.stdout).strip()
    if check and result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{output[-3000:]}")
    return seconds, output, result.returncode


def _ensure_binfmt() -> None:
    entry = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not entry.exists():
        if not Path("/proc/sys/fs/binfmt_misc/register").exists():
            _run(["mount", "binfmt_misc", "-t", "binfmt_misc", "/proc/sys/fs/binfmt_misc"])
        _run(["update-binfmts", "--enable", "qemu-aarch64"])
    _say(f"binfmt: {entry.read_text().splitlines()[:3]}")


def _ensure_root() -> None:
    if (ROOT / "usr/bin/python3").exists():
        _say(f"arm64 root: {ROOT} (cached)")
    else:
        _say(f"debootstrap arm64 bookworm into {ROOT} ...")
        seconds, _, _ = _run(
            [*NICE, "debootstrap", "--arch=arm64", "--variant=minbase",
             "--include=python3,python3-venv,libgomp1", "bookworm", str(ROOT), MIRROR]
        )  # fmt: skip
        _say(f"debootstrap: {seconds:.0f} s")
    if not list((ROOT / "usr/lib/aarch64-linux-gnu").glob("libgomp.so.1*")):
        # A root cached before libgomp1 was included (the Pi targets list it).
        _say("installing libgomp1 in the root (apt-get, with network) ...")
        _run(["chroot", str(ROOT), "apt-get", "install", "-y", "-q", "libgomp1"])


class _Mounts:
    """/proc in the root, with the emulated Pi's cpuinfo bound over /proc/cpuinfo."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.mounted: list[Path] = []

    def __enter__(self) -> _Mounts:
        # /proc only: with the host's /sys visible, onnxruntime's cpuinfo reads an x86 CPU
        # topology and crashed (SIGSEGV) under qemu; without it, it warns and runs.
        proc = ROOT / "proc"
        if subprocess.run(["mountpoint", "-q", str(proc)], check=False).returncode != 0:
            _run(["mount", "-t", "proc", "proc", str(proc)])
            self.mounted.append(proc)
        fake = WORK / f"cpuinfo-{self.target}"
        fake.write_text(_cpuinfo(self.target))
        _run(["mount", "--bind", str(fake), str(proc / "cpuinfo")])
        self.mounted.append(proc / "cpuinfo")
        return self

    def __exit__(self, *_: object) -> None:
        for point in reversed(self.mounted):
            _run(["umount", str(point)], check=False)


def _in_root(
    command: list[str], *, target: str, core: str | None = None, stdin: str = "", check: bool = True
) -> tuple[float, str, int]:
    """``command`` in the root with no network (unshare -n), qemu emulating ``core`` (default:
    the target's Pi), and a clean environment: nothing of this machine's EDGEMED_* leaks in."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "QEMU_CPU": core or CORES[target],
    }
    with _Mounts(target):
        return _run(
            [*NICE, "unshare", "-n", "chroot", str(ROOT), *command],
            stdin=stdin,
            check=check,
            env=env,
        )


def _installed(command: str) -> list[str]:
    """A shell line run with the install's settings (edgemed.env), as bin/edgemed runs."""
    return ["sh", "-c", f"set -a; . /opt/edgemed/edgemed.env; set +a; {command}"]


def _models_environment() -> dict[str, str]:
    from tests.inference.model_cache import shared_models_root

    root = shared_models_root()
    return {"EDGEMED_MODELS_DIR": str(root / "models"), "EDGEMED_CACHE": str(root / "cache")}


def _keys() -> Path:
    keys = WORK / "keys"
    if not (keys / "deployer.key").is_file():
        _run([sys.executable, "-m", "edgemed.cli", "bundle", "keygen", "--out", str(keys)])
    shutil.copyfile(keys / "deployer.pub", ROOT / "mnt" / "deployer.pub")
    return keys / "deployer.key"


def _build_bundle(target: str, out: Path, wheel: Path, key: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    command = [*NICE, sys.executable, "-m", "edgemed.cli", "bundle", "build", "--target", target]
    command += ["--model", "default", "--llama-wheel", str(wheel), "--signing-key", str(key)]
    command += ["--out", str(out)]
    wheelhouse = os.environ.get("EDGEMED_BENCH_WHEELHOUSE")
    if wheelhouse:
        command += ["--wheelhouse", wheelhouse]
    seconds, output, _ = _run(command, env={**os.environ, **_models_environment()})
    for line in output.splitlines()[-4:]:
        _say(f"    {line}")
    return seconds


def _json(output: str) -> dict[str, Any]:
    """The JSON a program printed last, after any warnings (onnxruntime's under qemu)."""
    lines = output.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("{"))
    return dict(json.loads("\n".join(lines[start:])))


def _decision_summary(text: str) -> dict[str, object]:
    decision = _json(text)
    return {
        "category": decision["category"],
        "rules": sorted(r["rule_id"] for r in decision["reasons"]),
    }


def _native_generation(candidates: list[str] | None = None) -> dict[str, Any]:
    script = WORK / "generate.py"
    script.write_text(GENERATE)
    env = {**os.environ, **_models_environment()}
    extra = [json.dumps(candidates)] if candidates else []
    _, out, _ = _run([*NICE, sys.executable, str(script), str(TOKENS), *extra], env=env)
    return _json(out)


def _install_and_generate(target: str, key: Path, reference: dict[str, object]) -> bool:
    """Wheel, bundle, full install in the root, a few tokens: True when the text is native's."""
    from bench.bench_arm_llama import build_wheel

    wheel = build_wheel(target)
    bundle = ROOT / "mnt" / "bundle"
    built = _build_bundle(target, bundle, wheel, key)
    _say(f"{target}: bundle build (on x86_64, default model, the wheel above): {built:.0f} s")
    for stale in (ROOT / "opt" / "edgemed", ROOT / "var" / "lib" / "edgemed"):
        shutil.rmtree(stale, ignore_errors=True)
    (ROOT / "mnt" / "generate.py").write_text(GENERATE)
    installed, log, _ = _in_root(
        ["sh", "/mnt/bundle/install.sh", "--deployer-key", "/mnt/deployer.pub",
         "--prefix", "/opt/edgemed", "--data-dir", "/var/lib/edgemed"],
        target=target,
    )  # fmt: skip
    _say(
        f"{target}: full install.sh under qemu -cpu {CORES[target]}, no network: {installed:.0f} s"
    )
    _say("\n".join("    " + line for line in log.splitlines() if "WARNING" not in line))
    _, doctor, _ = _in_root(_installed("/opt/edgemed/bin/edgemed doctor --json"), target=target)
    facts = _json(doctor)
    _say(f"{target}: edgemed doctor in the root: {_doctor_summary(facts)}")
    seconds, out, _ = _in_root(
        _installed(f"/opt/edgemed/current/bin/python /mnt/generate.py {TOKENS}"), target=target
    )
    result = _json(out)
    _say(f"{target}: {TOKENS} tokens through the installed engine under qemu: {seconds:.1f} s")
    for name in ("machine", "hwcap", "llama_cpp", "system_info", "model", "load_s"):
        _say(f"    {name}: {result[name]}")
    _say(f"    first token {result['first_token_s']} s, {result['tokens']} tokens in "
         f"{result['total_s']} s")  # fmt: skip
    _say(f"    text: {result['text']!r}")
    if result["tokens"] != TOKENS or result["machine"] != "aarch64":
        raise SystemExit(f"{target}: the installed engine did not generate {TOKENS} tokens")
    same = result["text"] == reference["text"]
    _say(f"    same text as x86_64 native: {same}")
    if not same:
        _where_they_part(target, str(reference["text"]), str(result["text"]))
    if target == "pi5":
        # The negative check: the same install on a Pi 4's core must die of SIGILL.
        _, out, code = _in_root(
            _installed(f"/opt/edgemed/current/bin/python /mnt/generate.py {TOKENS}"),
            target=target,
            core=CORES["pi4"],
            check=False,
        )
        _say(f"pi5 install run on an emulated cortex-a72 (expected SIGILL, 132): exit {code}: "
             f"{out.splitlines()[-1] if out else ''}")  # fmt: skip
        refused = _refused_on_pi4()
        _say(f"pi5 bundle's install.sh on a Pi 4's /proc/cpuinfo: {refused}")
        if code != 132 or "lacks asimddp" not in refused:
            raise SystemExit("the Pi 5 build ran on a Pi 4's core, or its installer accepted one")
    return same


def _wheel_libraries(wheel: Path, into: Path, extra: tuple[Path, ...] = ()) -> None:
    """The llama.cpp libraries of ``wheel`` (llama_cpp/lib/*.so*), and ``extra``, in ``into``."""
    import zipfile

    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("llama_cpp/lib/") and ".so" in name:
                (into / Path(name).name).write_bytes(archive.read(name))
    for path in extra:
        shutil.copyfile(path, into / path.name)


def _jetson_on_the_cpu() -> bool:
    """The Jetson's CUDA build of llama.cpp, cross-compiled with the profile's flags, loaded by
    the edgemed installed in the root (a Pi bundle: the Jetson's own bundle is for Ubuntu 22.04
    and Python 3.10, not this Debian root) in place of its own llama.cpp, on an emulated
    Cortex-A76 (the Orin's A78AE is the same Armv8.2-A with dot product; qemu 7.2 has no A78AE).
    There is no GPU and no driver: libcuda is the stub it was linked with, so llama.cpp's CUDA
    backend finds no device and the engine, asked for every layer on the GPU, must run on the
    CPU and give the Pi 5 build's text (the same CPU flags) token for token."""
    from bench.bench_arm_llama import build_wheel, cuda_toolkit_aarch64

    if not (ROOT / "opt" / "edgemed" / "current").exists():
        raise SystemExit(f"{JETSON}: install a Pi bundle in the root first (EDGEMED_ARM_TARGETS)")
    jetson, pi5 = build_wheel(JETSON), build_wheel("pi5")
    lib = cuda_toolkit_aarch64() / "targets" / "aarch64-linux" / "lib"
    # The runtime and cuBLAS the build links (libcudart.so.13 ... for CUDA 13), as the board has.
    cuda = tuple(
        path.resolve()
        for name in ("libcudart", "libcublas", "libcublasLt")
        for path in lib.glob(f"{name}.so.*")
    )
    _wheel_libraries(jetson, ROOT / "mnt" / "jetson-lib", cuda)
    shutil.copyfile(lib / "stubs" / "libcuda.so", ROOT / "mnt" / "jetson-lib" / "libcuda.so.1")
    _wheel_libraries(pi5, ROOT / "mnt" / "pi5-lib")
    (ROOT / "mnt" / "generate_offload.py").write_text(GENERATE_OFFLOAD)
    results = {}
    for name in ("jetson-lib", "pi5-lib"):
        where = f"/mnt/{name}"
        line = (
            f"LLAMA_CPP_LIB_PATH={where} LD_LIBRARY_PATH={where} "
            f"/opt/edgemed/current/bin/python /mnt/generate_offload.py {TOKENS} 2>/mnt/{name}.log"
        )
        seconds, out, _ = _in_root(_installed(line), target="pi5")
        results[name] = _json(out)
        _say(f"{JETSON} check, llama.cpp from /mnt/{name}: {seconds:.1f} s, "
             f"{results[name]['tokens']} tokens: {results[name]['text']!r}")  # fmt: skip
        _say(f"    ggml backends (devices found): {results[name]['backends']}; "
             f"llama_supports_gpu_offload: {results[name]['gpu_offload_build']}")  # fmt: skip
        _say(f"    loaded from /mnt: {', '.join(results[name]['loaded'])}")
    same = results["jetson-lib"]["text"] == results["pi5-lib"]["text"]
    _say(f"{JETSON} build on the CPU gives the Pi 5 build's text: {same}")
    # The CUDA backend is built in and loaded, found no device, and the CPU ran the model.
    cuda = results["jetson-lib"]["backends"].get("CUDA")
    ran = same and cuda == 0 and "libggml-cuda.so.0" in results["jetson-lib"]["loaded"]
    # And with no driver at all (no libcuda.so.1, a Jetson image without it): llama.cpp does not
    # load; edgemed doctor must say so and why, and exit 0, with no traceback.
    bare = ROOT / "mnt" / "jetson-nodriver"
    shutil.rmtree(bare, ignore_errors=True)
    shutil.copytree(ROOT / "mnt" / "jetson-lib", bare)
    (bare / "libcuda.so.1").unlink()
    where = "/mnt/jetson-nodriver"
    line = f"LLAMA_CPP_LIB_PATH={where} LD_LIBRARY_PATH={where} "
    line += "/opt/edgemed/bin/edgemed doctor 2>&1"
    _, out, code = _in_root(_installed(line), target="pi5", check=False)
    said = [text.strip() for text in out.splitlines() if "does not load" in text]
    _say(f"{JETSON} build without the driver: edgemed doctor exit {code}: {said[:1]}")
    told = code == 0 and "Traceback" not in out and any("libcuda.so.1" in t for t in said)
    return ran and told


def _where_they_part(target: str, native: str, emulated: str) -> None:
    """Score, on both sides, each build's continuation where the two texts part (to the end of
    that word): a near tie is a rounding difference between kernels, not a broken build."""
    common = 0
    while native[common] == emulated[common]:
        common += 1
    prefix = native[:common]

    def word(text: str) -> str:
        space = text.find(" ", common + 1)
        return text if space < 0 else text[:space]

    candidates = [word(native), word(emulated)]
    _say(f"    they part after {prefix!r}: x86_64 {candidates[0][common:]!r}, {target} "
         f"{candidates[1][common:]!r}; log-probability of each (one batch):")  # fmt: skip
    arguments = f"{TOKENS} {shlex.quote(json.dumps(candidates))}"
    _, out, _ = _in_root(
        _installed(f"/opt/edgemed/current/bin/python /mnt/generate.py {arguments}"),
        target=target,
    )
    here = _native_generation(candidates)
    for candidate in candidates:
        _say(f"        ...{candidate[common:]!r}: {target} {_json(out)['scores'][candidate]:.4f}, "
             f"x86_64 {here['scores'][candidate]:.4f}")  # fmt: skip


def _doctor_summary(facts: dict[str, object]) -> str:
    keep = ("machine", "cpu_model", "cpu_features", "board", "profile", "threads", "context")
    found = {k: v for k, v in _flatten(facts).items() if k.split(".")[-1] in keep}
    return json.dumps(found)[:600]


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        flat: dict[str, object] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _refused_on_pi4() -> str:
    shutil.rmtree(ROOT / "opt" / "edgemed-pi4", ignore_errors=True)
    _, out, code = _in_root(
        ["sh", "/mnt/bundle/install.sh", "--deployer-key", "/mnt/deployer.pub",
         "--prefix", "/opt/edgemed-pi4"],
        target="pi4",
        check=False,
    )  # fmt: skip
    lines = [line for line in out.splitlines() if "lacks" in line or "Error" in line]
    return f"exit {code}: {' '.join(lines)[:300]}"


def main() -> None:
    targets = os.environ.get("EDGEMED_ARM_TARGETS", "pi5").split()
    started = time.perf_counter()
    _ensure_binfmt()
    _ensure_root()
    _, machine, _ = _run(["chroot", str(ROOT), "uname", "-m"])
    _, python, _ = _run(["chroot", str(ROOT), "python3", "-c", "import platform, sys; "
                         "print(platform.machine(), sys.version.split()[0])"])  # fmt: skip
    _say(f"inside the root: uname -m = {machine}; python3 = {python}")
    key = _keys()
    reference = _native_generation()
    _say(f"x86_64 native reference (the venv's llama.cpp {reference['llama_cpp']}, greedy, "
         f"{reference['tokens']} tokens in {reference['total_s']} s):")  # fmt: skip
    _say(f"    {reference['text']!r}")
    installs = [target for target in targets if target != JETSON]
    agree = {target: _install_and_generate(target, key, reference) for target in installs}
    if JETSON in targets:
        agree[JETSON] = _jetson_on_the_cpu()
        if not agree[JETSON]:
            raise SystemExit(f"{JETSON}: its build did not run on the CPU as the Pi 5's does")
    last = installs[-1] if installs else "pi5"
    shutil.copyfile(
        REPO / "tests" / "bundle" / "store_roundtrip.py", ROOT / "mnt" / "store_roundtrip.py"
    )
    _, versions, _ = _in_root(
        ["/opt/edgemed/current/bin/python", "-c",
         "import platform, numpy, onnxruntime, tokenizers, sqlcipher3, textual, argon2; "
         "print(platform.machine(), 'numpy', numpy.__version__, 'onnxruntime', "
         "onnxruntime.__version__, 'tokenizers', tokenizers.__version__)"],
        target=last,
    )  # fmt: skip
    _say(f"imports in the installed aarch64 venv: {versions.splitlines()[-1]}")
    rows = []
    for name, case in CASES.items():
        case_json = json.dumps(case)
        emulated, out, _ = _in_root(
            ["/opt/edgemed/bin/edgemed", "assess", "-"], target=last, stdin=case_json
        )
        native, reference_out, _ = _run(
            [str(REPO / ".venv/bin/edgemed"), "assess", "-"], stdin=case_json
        )
        same = _decision_summary(out) == _decision_summary(reference_out)
        rows.append((f"`edgemed assess` ({name})", emulated, native, _decision_summary(out), same))
    shutil.rmtree(ROOT / "tmp" / "rt", ignore_errors=True)
    emulated, out, _ = _in_root(
        ["/opt/edgemed/current/bin/python", "/mnt/store_roundtrip.py", "/tmp/rt"], target=last
    )
    scratch = WORK / "native-rt"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    native, reference_out, _ = _run(
        [sys.executable, str(REPO / "tests" / "bundle" / "store_roundtrip.py"), str(scratch)]
    )
    emulated_result = _json(out)
    native_result = _json(reference_out)
    same = emulated_result["read_back_category"] == native_result["read_back_category"]
    rows.append(("store round trip (create log, save, reopen, unlock, read back)",
                 emulated, native, emulated_result, same))  # fmt: skip
    _say("\n| step | aarch64 under qemu | x86_64 native (reference) | ratio | result | same |")
    _say("|---|---|---|---|---|---|")
    for step, slow, fast, result, equal in rows:
        _say(f"| {step} | {slow:.2f} s | {fast:.2f} s | {slow / fast:.1f}x | {result} | {equal} |")
    _say(
        f"text as expected (x86_64's; the Pi 5 build's for the Jetson's): {agree}; "
        f"whole bench: {time.perf_counter() - started:.0f} s"
    )
    if not all(row[4] for row in rows):
        raise SystemExit("the emulated aarch64 run disagrees with the native one")
