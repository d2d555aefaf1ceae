"""``edgemed bundle install DIR``: install a checked bundle into a fresh virtual environment.

Standard library only: on a blank device ``install.sh`` runs this module straight out of the
edgemed wheel inside the bundle. The layout it makes under the prefix (``/opt/edgemed``)::

    releases/<version>-<fingerprint>/   one virtual environment per installed bundle
    current -> releases/...             switched only once the new release has passed its check
    edgemed.env                         where translations, catalog and data live (systemd reads it)
    bin/edgemed                         the command, with edgemed.env applied
    deployer.pub                        the deployer's public key, pinned by a signed install

A power cut during an install leaves ``current`` on the release that worked before.

Who made the bundle is checked before anything else: ``SHA256SUMS.sig`` must be the pinned
deployer key's signature (``--deployer-key FILE``, else ``<prefix>/deployer.pub``; never a key
from the stick). The bundle is then copied to local disk (``<prefix>/.incoming-*``, 0700), the
copy is checked again, signature included, and everything is installed from the copy: a stick
that changes its answers between two reads cannot slip a file in after the check.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgemed.bundle.manifest import (
    CHECKSUMS,
    MANIFEST,
    SIGNATURE,
    BundleError,
    BundleManifest,
    BundleTampered,
    TargetFacts,
    check_bundle,
    fingerprint,
)
from edgemed.bundle.pip import run_pip, sealed_environment
from edgemed.bundle.signing import SignatureError, key_id, public_key_pem, read_public_key
from edgemed.errors import EdgemedError, ExitCode, error_lines
from edgemed.files import SHARED_FILE, is_inside, write_atomic
from edgemed.i18n import _

Report = Callable[[str], None]
# A case every protocol decides: the installed program must triage it before it goes live.
_SMOKE_CASE = {"patient": {"age_years": 40}, "vitals": {"hr": 80, "rr": 16}, "findings": []}


@dataclass(frozen=True)
class InstallRequest:
    bundle: Path
    prefix: Path
    data_dir: Path | None = None
    rules_only: bool = False
    expect_fingerprint: str | None = None
    python: str = sys.executable
    deployer_key: Path | None = None  # the deployer's public key; else <prefix>/deployer.pub
    allow_unsigned: bool = False


@dataclass(frozen=True)
class InstalledRelease:
    release: Path
    prefix: Path
    fingerprint: str
    model: str | None
    decision: dict[str, object]

    @property
    def command(self) -> Path:
        return self.prefix / "bin" / "edgemed"


def default_prefix() -> Path:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/opt/edgemed")
    return Path.home() / ".local" / "opt" / "edgemed"


def _python_version(python: str) -> tuple[str, str]:
    probe = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version(), platform.machine())"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise BundleError(_("{python} does not run.").format(python=python))
    version, machine = probe.stdout.split()
    return ".".join(version.split(".")[:2]), machine


PINNED_KEY = "deployer.pub"
UNSIGNED_WARNING = (
    "WARNING: --allow-unsigned: who made this bundle is NOT checked. Its checksums only show "
    "damage: anyone who could write to the stick could have rebuilt them around their own code, "
    "which this install would run (as root, if run with sudo). Go on only with a bundle you "
    "built yourself and carried by hand."
)


def pinned_key_file(prefix: Path) -> Path:
    return prefix / PINNED_KEY


def trusted_key(
    deployer_key: Path | None, prefix: Path, bundle: Path | None = None
) -> tuple[bytes | None, str]:
    """The public key to check a bundle against, and where it came from (for the report)."""
    if deployer_key is not None:
        path = Path(deployer_key).resolve()
        if bundle is not None and is_inside(path, bundle):
            raise SignatureError(
                _("{file} is on the bundle itself: a key that travels with a bundle proves "
                  "nothing about it.").format(file=deployer_key),
                hint=_("Use the deployer.pub the deployer gave you by another way."),
            )  # fmt: skip
        return read_public_key(path), str(deployer_key)
    pinned = pinned_key_file(prefix)
    if pinned.is_file():
        return read_public_key(pinned), str(pinned)
    return None, ""


def _pin_key(prefix: Path, key: bytes, report: Report) -> None:
    pinned = pinned_key_file(prefix)
    text = public_key_pem(key)
    try:
        if pinned.is_file() and pinned.read_text("ascii") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    if pinned.exists():
        report(_("The pinned deployer key changes to {key} (given by --deployer-key).").format(
            key=key_id(key)))  # fmt: skip
    write_atomic(pinned, text.encode("ascii"), mode=SHARED_FILE)


def _copy_bounded(source: Path, target: Path, size: int) -> None:
    # Never more than the listed size (+1 byte to see that there is more): a stick that claims
    # 98 MB and serves 3 GB is stopped at once instead of filling the disk.
    with source.open("rb") as stream, target.open("xb") as out:
        remaining = size + 1
        while remaining > 0 and (chunk := stream.read(min(1024 * 1024, remaining))):
            out.write(chunk)
            remaining -= len(chunk)
    if remaining != 1:
        raise BundleTampered(
            source.parent,
            [_("{file} changed while it was copied").format(file=source.name)],
        )


def copy_to_local(bundle: Path, manifest: BundleManifest, prefix: Path, report: Report) -> Path:
    """Copy the lists and every listed file (nothing else) into a private folder on local disk."""
    prefix.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=prefix))  # 0700
    report(_("Copying the bundle to {staging}...").format(staging=staging))
    try:
        for name in (CHECKSUMS, SIGNATURE, MANIFEST):
            if (bundle / name).is_file():
                _copy_bounded(bundle / name, staging / name, (bundle / name).stat().st_size)
        for item in manifest.files:
            target = staging / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_bounded(bundle / item.path, target, item.size)
    except (OSError, EdgemedError):
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _check_device(manifest: BundleManifest, python: str) -> None:
    version, machine = _python_version(python)
    machine = "aarch64" if machine == "arm64" else machine
    target = manifest.target
    if machine != target.machine or version != target.python:
        raise BundleError(
            _(
                "This bundle is for {target} ({tmachine}, Python {tpython}); this device is "
                "{machine} with Python {python}."
            ).format(
                target=target.id,
                tmachine=target.machine,
                tpython=target.python,
                machine=machine,
                python=version,
            ),
            hint=_(
                "Build a bundle for this device: `edgemed bundle build --target ID` (with "
                "--python {python} if its Python differs from the target's)."
            ).format(python=version),
        )
    check_cpu(target)


CPUINFO = Path("/proc/cpuinfo")


def cpu_features(cpuinfo: Path = CPUINFO) -> frozenset[str] | None:
    """The CPU's features as the kernel names them (Arm's ``Features``, x86's ``flags``), or
    None where the kernel does not say (then nothing is refused on their account)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        if key.strip().lower() in ("features", "flags"):
            return frozenset(value.split())
    return None


def check_cpu(target: TargetFacts, cpuinfo: Path = CPUINFO) -> None:
    """Refuse a device whose CPU lacks what the bundle's llama.cpp flags compile for: the
    build would succeed and the first prompt would die of an illegal instruction."""
    have = cpu_features(cpuinfo)
    if have is None or not target.cpu_features:
        return
    missing = [feature for feature in target.cpu_features if feature not in have]
    if missing:
        raise BundleError(
            _(
                "This bundle is for {target}, whose CPU has {features}; this device's CPU "
                "lacks {missing}, so its llama.cpp would stop with an illegal instruction."
            ).format(
                target=target.id,
                features=", ".join(target.cpu_features),
                missing=", ".join(missing),
            ),
            hint=_(
                "Build a bundle for this device's own target (a Raspberry Pi 4 is `--target "
                "pi4`): `edgemed bundle build --target ID`."
            ),
        )


def _environment_file(prefix: Path, data_dir: Path | None) -> dict[str, str]:
    current = prefix / "current" / "share"
    values = {"EDGEMED_LOCALES": str(current / "locales")}
    values["EDGEMED_CATALOG"] = str(current / "catalog.toml")
    if data_dir is not None:
        values["EDGEMED_HOME"] = str(data_dir)
    return values


def _write_launcher(prefix: Path, values: dict[str, str]) -> None:
    lines = "".join(f"{key}={value}\n" for key, value in sorted(values.items()))
    (prefix / "edgemed.env").write_text(
        "# Read by bin/edgemed and by the kiosk unit (EnvironmentFile=).\n" + lines, "utf-8"
    )
    launcher = prefix / "bin" / "edgemed"
    launcher.parent.mkdir(exist_ok=True)
    launcher.write_text(
        "#!/bin/sh\n# edgemed with the settings of this install (edgemed.env).\nset -a\n"
        f'. "{prefix}/edgemed.env"\nset +a\nexec "{prefix}/current/bin/edgemed" "$@"\n',
        "utf-8",
    )
    launcher.chmod(0o755)


def _install_packages(
    request: InstallRequest, manifest: BundleManifest, release: Path, report: Report
) -> None:
    python = release / "bin" / "python"
    links = ["--no-index", "--find-links", str(request.bundle / "wheels")]
    if (request.bundle / "sources").is_dir():
        links += ["--find-links", str(request.bundle / "sources")]
    requirements = list(manifest.requirements)
    environment: dict[str, str] = {}
    if request.rules_only:
        requirements = [r for r in requirements if not r.startswith("llama-cpp-python")]
    elif manifest.llama.kind == "sdist":
        environment = {"CMAKE_ARGS": manifest.llama.cmake_args, **manifest.llama.build_environment}
        report(
            _(
                "Compiling llama.cpp for {target} (CMAKE_ARGS={flags}): about 6 minutes on a "
                "2-core laptop, longer on a Raspberry Pi..."
            ).format(target=manifest.target.id, flags=manifest.llama.cmake_args)
        )
    report(_("Installing {n} packages from the bundle (no network)...").format(n=len(requirements)))
    run_pip(
        python,
        ["install", "--no-cache-dir", "--quiet", *links, *requirements],
        what=_("Installing edgemed's dependencies"),
        sealed=True,
        environment=environment,
    )
    # edgemed itself last and without dependencies: a rules-only install has no llama.cpp.
    run_pip(
        python,
        [
            "install",
            "--no-cache-dir",
            "--quiet",
            "--no-deps",
            *links,
            f"edgemed=={manifest.edgemed_version}",
        ],
        what=_("Installing edgemed"),
        sealed=True,
    )


def _run_edgemed(release: Path, values: dict[str, str], arguments: list[str], stdin: str) -> str:
    environment = sealed_environment(values)
    if "EDGEMED_HOME" in values:
        # The data dir decides where models and settings go; stray overrides must not.
        for name in ("EDGEMED_MODELS_DIR", "EDGEMED_CONFIG"):
            environment.pop(name, None)
    environment["EDGEMED_LOCALES"] = str(release / "share" / "locales")
    environment["EDGEMED_CATALOG"] = str(release / "share" / "catalog.toml")
    result = subprocess.run(
        [str(release / "bin" / "edgemed"), *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        raise BundleError(
            _("The installed edgemed failed `edgemed {args}`: {error}").format(
                args=" ".join(arguments), error=(result.stderr or result.stdout).strip()[-800:]
            ),
            hint=_("The previous install (if any) is still the one in use."),
        )
    return result.stdout


def _switch(prefix: Path, release: Path) -> None:
    link = prefix / "current"
    temporary = prefix / ".current.new"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(release.relative_to(prefix))
    os.replace(temporary, link)  # atomic: `current` is always one whole release


def _create_release(
    request: InstallRequest, manifest: BundleManifest, release: Path, report: Report
) -> None:
    if release.exists():
        shutil.rmtree(release)  # an earlier attempt that never became current
    release.parent.mkdir(parents=True, exist_ok=True)
    report(_("Creating {release}...").format(release=release))
    created = subprocess.run(
        [request.python, "-m", "venv", str(release)], capture_output=True, text=True, check=False
    )
    if created.returncode != 0:
        raise BundleError(
            _("Could not create a virtual environment: {error}").format(error=created.stderr),
            hint=_("On Debian, Ubuntu or Raspberry Pi OS: apt-get install python3-venv"),
        )
    _install_packages(request, manifest, release, report)
    if (request.bundle / "share").is_dir():
        shutil.copytree(request.bundle / "share", release / "share", dirs_exist_ok=True)


def _say(line: str) -> None:
    # Flushed at once: a technician watching a slow compile must see where the install is.
    print(line, flush=True)


def install_bundle(request: InstallRequest, report: Report = _say) -> InstalledRelease:
    """Check who made the bundle and every file, copy it to local disk, check the copy, install
    it as a new release from the copy, smoke-test it, then make it current."""
    bundle = Path(request.bundle).resolve()
    prefix = request.prefix.resolve()
    key, origin = trusted_key(request.deployer_key, prefix, bundle)
    if key is None and request.allow_unsigned:
        report(UNSIGNED_WARNING)
    report(_("Checking every file of {bundle}...").format(bundle=bundle))
    manifest = check_bundle(bundle, key, allow_unsigned=request.allow_unsigned)
    if key is not None:
        report(
            _("Signed by the deployer key {key} ({origin}).").format(key=key_id(key), origin=origin)
        )
    printed = fingerprint(bundle)
    if request.expect_fingerprint and request.expect_fingerprint.lower() != printed:
        raise BundleError(
            _("The bundle's fingerprint is {actual}, not {expected}: it is another bundle.").format(
                actual=printed, expected=request.expect_fingerprint
            )
        )
    report(_("Bundle fingerprint: {fp}").format(fp=printed))
    _check_device(manifest, request.python)
    staging = copy_to_local(bundle, manifest, prefix, report)
    try:
        report(_("Checking the copy..."))
        manifest = check_bundle(staging, key, allow_unsigned=request.allow_unsigned)
        if fingerprint(staging) != printed:
            raise BundleTampered(bundle, [_("the stick changed while it was read")])
        if key is not None:
            _pin_key(prefix, key, report)
        local = InstallRequest(**{**request.__dict__, "bundle": staging, "prefix": prefix})
        return _install_checked(local, manifest, printed, key is not None, report)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install_checked(
    request: InstallRequest,
    manifest: BundleManifest,
    printed: str,
    pinned: bool,
    report: Report,
) -> InstalledRelease:
    bundle, prefix = request.bundle, request.prefix
    release = prefix / "releases" / f"{manifest.edgemed_version}-{printed[:12]}"
    if (prefix / "current").resolve() == release:
        # The very same bundle again: the release in use is never torn down under the app.
        report(_("{release} is already the current release.").format(release=release))
    else:
        _create_release(request, manifest, release, report)
    values = _environment_file(prefix, request.data_dir)
    if pinned:
        values["EDGEMED_DEPLOYER_KEY"] = str(pinned_key_file(prefix))
    model = None
    if manifest.model and not request.rules_only:
        report(_("Importing the model {id}...").format(id=manifest.model))
        _run_edgemed(release, values, ["models", "import", str(bundle / "models")], "")
        model = manifest.model
    report(_("Checking the installed program on a test case..."))
    decision = json.loads(_run_edgemed(release, values, ["assess", "-"], json.dumps(_SMOKE_CASE)))
    _switch(prefix, release)
    _write_launcher(prefix, values)
    report(
        _("edgemed {version} is installed: {command}").format(
            version=manifest.edgemed_version, command=prefix / "bin" / "edgemed"
        )
    )
    return InstalledRelease(release, prefix, printed, model, decision)


def main(argv: list[str] | None = None) -> int:
    """``install.sh``'s entry point, before edgemed (and click) are installed."""
    parser = argparse.ArgumentParser(prog="install.sh", description=_("Install edgemed offline."))
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--prefix", type=Path, default=default_prefix())
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rules-only", action="store_true")
    parser.add_argument("--expect-fingerprint", default=None)
    parser.add_argument(
        "--deployer-key",
        type=Path,
        default=None,
        help=_("The deployer's public key (deployer.pub), pinned under the prefix once used."),
    )
    parser.add_argument(
        "--allow-unsigned",
        action="store_true",
        help=_("Install a bundle whose origin cannot be checked (damage is still checked)."),
    )
    options = parser.parse_args(argv)
    request = InstallRequest(
        bundle=options.bundle,
        prefix=options.prefix,
        data_dir=options.data_dir,
        rules_only=options.rules_only,
        expect_fingerprint=options.expect_fingerprint,
        deployer_key=options.deployer_key,
        allow_unsigned=options.allow_unsigned,
    )
    try:
        install_bundle(request)
    except EdgemedError as error:
        print("\n".join(error_lines(error)), file=sys.stderr)
        return error.exit_code
    return ExitCode.OK


__all__ = [
    "InstallRequest",
    "InstalledRelease",
    "copy_to_local",
    "default_prefix",
    "install_bundle",
    "main",
    "pinned_key_file",
    "trusted_key",
]

if __name__ == "__main__":
    sys.exit(main())
