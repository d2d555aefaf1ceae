"""The aarch64 proof under emulation: a Raspberry Pi 5 bundle installed in an arm64 Debian.

No Pi is here, so this runs the Pi's own binaries (Debian bookworm arm64, the aarch64 wheels of
the bundle) through qemu-user with binfmt_misc, in a chroot with no network:

1. an arm64 Debian root made by debootstrap (cached in /var/tmp/edgemed-aarch64/root);
2. ``edgemed bundle build --target pi5`` on this machine (aarch64 wheels, llama.cpp's source);
3. in the chroot, with no network: ``sh install.sh --rules-only`` (every file checked first);
4. in the chroot: rules-only ``edgemed assess`` on two cases, and the encrypted store's round trip
   (tests/bundle/store_roundtrip.py: create a log, save an encounter, reopen, unlock, read it back);
5. the same assessments and round trip natively here, as the reference: decisions must be equal,
   and times are reported as emulated / native.

llama.cpp is NOT compiled or run here (hours under emulation): ``--rules-only`` skips it.
Slow (tens of minutes) and needs root; not part of CI. ``python -m bench aarch64``.
Environment: EDGEMED_ARM64_ROOT (the chroot), EDGEMED_BENCH_WHEELHOUSE (build offline).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("EDGEMED_ARM64_ROOT", "/var/tmp/edgemed-aarch64/root"))
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
# `make bench` skips this one: name it to run it (`python -m bench aarch64`).
BY_HAND = True


def _run(command: list[str], *, stdin: str = "", check: bool = True) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    output = (result.stdout + result.stderr).strip()
    if check and result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{output[-3000:]}")
    return seconds, output


def _ensure_binfmt() -> None:
    entry = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not entry.exists():
        if not Path("/proc/sys/fs/binfmt_misc/register").exists():
            _run(["mount", "binfmt_misc", "-t", "binfmt_misc", "/proc/sys/fs/binfmt_misc"])
        _run(["update-binfmts", "--enable", "qemu-aarch64"])
    print(f"binfmt: {entry.read_text().splitlines()[:2]}")


def _ensure_root() -> None:
    if (ROOT / "usr/bin/python3").exists():
        print(f"arm64 root: {ROOT} (cached)")
        return
    print(f"debootstrap arm64 bookworm into {ROOT} ...", flush=True)
    seconds, _ = _run(
        [*NICE, "debootstrap", "--arch=arm64", "--variant=minbase",
         "--include=python3,python3-venv", "bookworm", str(ROOT), MIRROR]
    )  # fmt: skip
    print(f"debootstrap: {seconds:.0f} s")


def _in_root(command: list[str], stdin: str = "", check: bool = True) -> tuple[float, str]:
    # /proc only: with the host's /sys visible, onnxruntime's cpuinfo reads an x86 CPU topology
    # and crashed (SIGSEGV) under qemu; without it, it warns and runs. unshare -n: the chroot has
    # no network at all, so the install cannot fetch anything.
    mounted: list[Path] = []
    point = ROOT / "proc"
    if subprocess.run(["mountpoint", "-q", str(point)], check=False).returncode != 0:
        _run(["mount", "-t", "proc", "proc", str(point)])
        mounted.append(point)
    try:
        command = [*NICE, "unshare", "-n", "chroot", str(ROOT), *command]
        return _run(command, stdin=stdin, check=check)
    finally:
        for point in mounted:
            _run(["umount", str(point)], check=False)


def _build_bundle(out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    command = [*NICE, sys.executable, "-m", "edgemed.cli", "bundle", "build", "--target", "pi5"]
    command += ["--out", str(out)]
    wheelhouse = os.environ.get("EDGEMED_BENCH_WHEELHOUSE")
    if wheelhouse:
        command += ["--wheelhouse", wheelhouse]
    seconds, output = _run(command)
    print(output.splitlines()[-3] if output else "")
    return seconds


def _decision_summary(text: str) -> dict[str, object]:
    decision = json.loads(text)
    return {
        "category": decision["category"],
        "rules": sorted(r["rule_id"] for r in decision["reasons"]),
    }


def main() -> None:
    _ensure_binfmt()
    _ensure_root()
    _, machine = _run(["chroot", str(ROOT), "uname", "-m"])
    _, python = _run(["chroot", str(ROOT), "python3", "-c", "import platform, sys; "
                      "print(platform.machine(), sys.version.split()[0])"])  # fmt: skip
    print(f"inside the root: uname -m = {machine}; python3 = {python}")
    bundle = ROOT / "mnt" / "bundle"
    built = _build_bundle(bundle)
    print(f"bundle build for pi5 (on x86_64): {built:.0f} s")
    for stale in (ROOT / "opt" / "edgemed", ROOT / "var" / "lib" / "edgemed", ROOT / "tmp" / "rt"):
        shutil.rmtree(stale, ignore_errors=True)
    shutil.copyfile(
        REPO / "tests" / "bundle" / "store_roundtrip.py", ROOT / "mnt" / "store_roundtrip.py"
    )
    installed, log = _in_root(
        ["sh", "/mnt/bundle/install.sh", "--rules-only", "--prefix", "/opt/edgemed",
         "--data-dir", "/var/lib/edgemed"]
    )  # fmt: skip
    print(f"install.sh --rules-only under qemu, no network: {installed:.0f} s")
    print("\n".join("    " + line for line in log.splitlines() if "WARNING" not in line))
    _, versions = _in_root(
        ["/opt/edgemed/current/bin/python", "-c",
         "import platform, numpy, onnxruntime, tokenizers, sqlcipher3, textual, argon2; "
         "print(platform.machine(), 'numpy', numpy.__version__, 'onnxruntime', "
         "onnxruntime.__version__, 'tokenizers', tokenizers.__version__)"]
    )  # fmt: skip
    print(f"imports in the installed aarch64 venv: {versions}")
    _, llama = _in_root(["/opt/edgemed/current/bin/python", "-c", "import llama_cpp"], check=False)
    print(
        f"import llama_cpp (expected to fail: not built under emulation): {llama.splitlines()[-1]}"
    )
    rows = []
    for name, case in CASES.items():
        case_json = json.dumps(case)
        emulated, out = _in_root(["/opt/edgemed/bin/edgemed", "assess", "-"], stdin=case_json)
        native, reference = _run([str(REPO / ".venv/bin/edgemed"), "assess", "-"], stdin=case_json)
        same = _decision_summary(out) == _decision_summary(reference)
        rows.append((f"`edgemed assess` ({name})", emulated, native, _decision_summary(out), same))
    emulated, out = _in_root(
        ["/opt/edgemed/current/bin/python", "/mnt/store_roundtrip.py", "/tmp/rt"]
    )
    scratch = Path("/var/tmp/edgemed-aarch64/native-rt")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    native, reference = _run(
        [sys.executable, str(REPO / "tests" / "bundle" / "store_roundtrip.py"), str(scratch)]
    )
    emulated_result, native_result = json.loads(out), json.loads(reference)
    same = emulated_result["read_back_category"] == native_result["read_back_category"]
    rows.append(("store round trip (create log, save, reopen, unlock, read back)",
                 emulated, native, emulated_result, same))  # fmt: skip
    print("\n| step | aarch64 under qemu | x86_64 native (reference) | ratio | result | same |")
    print("|---|---|---|---|---|---|")
    for step, slow, fast, result, equal in rows:
        print(f"| {step} | {slow:.2f} s | {fast:.2f} s | {slow / fast:.1f}x | {result} | {equal} |")
    if not all(row[4] for row in rows):
        raise SystemExit("the emulated aarch64 run disagrees with the native one")
