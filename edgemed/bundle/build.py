"""``edgemed bundle build``: everything a device needs to install edgemed with no network.

A bundle is a plain folder (copy it onto a USB stick as it is)::

    install.sh          checks every file with sha256sum, then runs the installer
    SHA256SUMS          every other file's sha256; its own sha256 is the bundle's fingerprint
    SHA256SUMS.sig      the deployer's Ed25519 signature of SHA256SUMS
    bundle.json         what the bundle is for (target, Python, llama.cpp flags) and its files
    README.txt          the three commands a technician types
    wheels/             edgemed and every runtime dependency, built for the target's CPU
    sources/            llama-cpp-python's source, compiled on the device with the target's flags
    models/             the model, in the catalog's bundle layout (manifest.json + files)
    share/              translations and the model catalog
    kiosk/              the systemd unit and setup script of a dedicated clinic device
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import edgemed
from edgemed.bundle import keys, sources
from edgemed.bundle.keys import DeployerKey
from edgemed.bundle.manifest import (
    CHECKSUMS,
    MANIFEST,
    SIGNATURE,
    BundleError,
    BundleFile,
    BundleManifest,
    LlamaBuild,
    TargetFacts,
    describe,
    write_lists,
)
from edgemed.bundle.pip import run_pip
from edgemed.bundle.targets import Target
from edgemed.catalog import catalog_file, install, write_manifest
from edgemed.errors import EdgemedError
from edgemed.i18n import _

Report = Callable[[str], None]


@dataclass(frozen=True)
class BuildRequest:
    target: Target
    out: Path
    model: str | None = "default"  # a catalog id, "default", or None for a rules-only bundle
    wheelhouse: Path | None = None  # build offline: wheels and sources from here, no registry
    llama_wheel: Path | None = None  # llama-cpp-python already compiled for this target
    # The deployer's private key (`edgemed bundle keygen`); None builds an unsigned bundle,
    # which a device installs only with --allow-unsigned.
    signing_key: Path | None = None


@dataclass(frozen=True)
class BuiltBundle:
    directory: Path
    fingerprint: str
    manifest: BundleManifest

    @property
    def size(self) -> int:
        return sum(f.size for f in self.manifest.files)


def _quiet(_line: str) -> None:
    return None


def target_python(target: Target) -> str:
    """An interpreter of the target's Python version to run pip with.

    pip evaluates environment markers (``tomli; python_version < "3.11"``) for the Python that
    runs it, whatever ``--python-version`` says, so a bundle for another Python needs that Python.
    """
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == target.python:
        return sys.executable
    candidate = shutil.which(f"python{target.python}")
    if candidate is not None:
        probe = subprocess.run(
            [candidate, "-m", "pip", "--version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return candidate
    raise BundleError(
        _(
            "{target} runs Python {python}; building its bundle needs python{python} with pip here."
        ).format(target=target.id, python=target.python),
        hint=_(
            "Install it (e.g. `apt-get install python{python}` or pyenv), or pass --python with "
            "the version the device really runs."
        ).format(python=target.python),
    )


def _download_wheels(
    request: BuildRequest, requirements: list[str], dest: Path, report: Report
) -> None:
    target = request.target
    arguments = ["download", "--only-binary", ":all:", "--dest", str(dest), "--quiet"]
    for tag in target.platform_tags():
        arguments += ["--platform", tag]
    arguments += ["--implementation", "cp", "--python-version", target.python]
    arguments += ["--abi", target.python_tag, "--abi", "abi3", "--abi", "none"]
    if request.wheelhouse is not None:
        arguments += ["--no-index", "--find-links", str(request.wheelhouse)]
    report(
        _("Downloading {n} requirements for {machine} / Python {python}...").format(
            n=len(requirements), machine=target.machine, python=target.python
        )
    )
    run_pip(
        target_python(target),
        arguments + requirements,
        what=_("Downloading the wheels for {target}").format(target=target.id),
        sealed=False,
    )


def _add_model(
    model_id: str, dest: Path, wheelhouse: Path | None, report: Report, key: DeployerKey | None
) -> str:
    """Install the model through the catalog (checked), then copy it in the bundle layout."""
    report(_("Fetching the model {id} through the catalog...").format(id=model_id))
    installed = install(model_id, wheelhouse=wheelhouse)
    dest.mkdir(parents=True)
    for item in installed.artifact.files:
        target = dest / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(installed.directory / item.path, target)
        copied = describe(dest, item.path)
        if copied.sha256 != item.sha256:
            raise BundleError(
                _("{file} changed while it was copied into the bundle.").format(file=item.path)
            )
    manifest = write_manifest(
        dest, [installed.artifact], created_by=f"edgemed bundle {edgemed.__version__}"
    )
    if key is not None:
        key.sign_file(manifest)  # `edgemed models import` on a device checks it
    return installed.artifact.id


def _add_support_files(directory: Path, edgemed_wheel: str) -> None:
    share = directory / "share"
    sources.compile_locales(share / "locales")
    catalog = catalog_file()
    if catalog.is_file():
        share.mkdir(exist_ok=True)
        shutil.copyfile(catalog, share / "catalog.toml")
    kiosk = directory / "kiosk"
    kiosk.mkdir()
    package = resources.files("edgemed.bundle")
    for item in (package / "kiosk").iterdir():
        if item.is_file() and not item.name.startswith((".", "__")):
            (kiosk / item.name).write_bytes(item.read_bytes())
    script = (package / "install.sh").read_text(encoding="utf-8")
    (directory / "install.sh").write_text(script.replace("@WHEEL@", edgemed_wheel), "utf-8")
    (directory / "install.sh").chmod(0o755)
    (directory / "README.txt").write_text((package / "README.txt").read_text("utf-8"), "utf-8")


def _prepare(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(
            _("{out} already exists and is not empty.").format(out=out),
            hint=_("Give a new folder: a bundle is never written over another one."),
        )
    out.mkdir(parents=True, exist_ok=True)


def _assemble(request: BuildRequest, report: Report) -> BuiltBundle:
    out, target = request.out, request.target
    target_python(target)  # before any download: a missing interpreter is said at once
    # The key too: a build that cannot be signed stops before it downloads anything.
    key = keys.load(request.signing_key) if request.signing_key is not None else None
    wheels = out / "wheels"
    wheels.mkdir()
    report(_("Building edgemed's wheel from {root}...").format(root=sources.source_checkout()))
    own_wheel = sources.build_edgemed_wheel(wheels, request.wheelhouse)
    requirements, llama_requirement = sources.split_llama(sources.wheel_requirements(own_wheel))
    downloads = list(requirements)
    if request.llama_wheel is not None:
        sources.check_llama_wheel(request.llama_wheel, target.machine, target.python_tag)
        shutil.copyfile(request.llama_wheel, wheels / request.llama_wheel.name)
        llama = LlamaBuild("wheel", f"wheels/{request.llama_wheel.name}")
        downloads += sources.wheel_requirements(request.llama_wheel)
    else:
        report(_("Downloading the source of {req}...").format(req=llama_requirement))
        (out / "sources").mkdir()
        archive = sources.download_llama_source(
            llama_requirement, out / "sources", request.wheelhouse
        )
        runtime, build = sources.source_requirements(archive)
        downloads += runtime + build
        llama = LlamaBuild(
            "sdist", f"sources/{archive.name}", target.cmake_args, dict(target.build_environment)
        )
    _download_wheels(request, downloads, wheels, report)
    model = None
    if request.model is not None:
        model = _add_model(request.model, out / "models", request.wheelhouse, report, key)
    _add_support_files(out, own_wheel.name)
    listed = sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.relative_to(out).as_posix() not in (MANIFEST, CHECKSUMS, SIGNATURE)
    )
    manifest = BundleManifest(
        edgemed_version=edgemed.__version__,
        target=TargetFacts(
            id=target.id,
            profile=target.profile,
            machine=target.machine,
            python=target.python,
            glibc=target.glibc,
            description=target.description,
            cpu_features=target.cpu_features,
        ),
        llama=llama,
        requirements=(*requirements, llama_requirement),
        files=tuple(describe(out, path) for path in listed),
        model=model,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        created_by=f"edgemed bundle build {edgemed.__version__}",
        signer=key.id if key is not None else "",
    )
    printed = write_lists(out, manifest)
    if key is not None:
        key.sign_file(out / CHECKSUMS)
    return BuiltBundle(out, printed, manifest)


def build_bundle(request: BuildRequest, report: Report = _quiet) -> BuiltBundle:
    """Build the bundle in ``request.out`` (a new or empty folder); on failure, remove it."""
    out = request.out
    _prepare(out)
    try:
        return _assemble(request, report)
    except (EdgemedError, OSError):
        shutil.rmtree(out, ignore_errors=True)
        raise


__all__ = ["BuildRequest", "BuiltBundle", "BundleFile", "build_bundle", "target_python"]
