"""The offline bundle's manifest (``bundle.json``) and the check of every file against it.

Standard library only (with :mod:`edgemed.files`, :mod:`edgemed.errors`, :mod:`edgemed.i18n`): on
a blank device this module runs straight out of the edgemed wheel in the bundle, before anything
is installed (see :mod:`edgemed.bundle.installer`).

Two lists guard a bundle. ``SHA256SUMS`` (coreutils format) names every other file, so a
technician can check a stick with ``sha256sum -c SHA256SUMS`` before running anything on it, and
``sha256sum SHA256SUMS`` is the bundle's *fingerprint*, printed when it is built: equal
fingerprints mean equal bundles. ``bundle.json`` says what the bundle is for and lists every
file again with its size; the installer refuses a bundle where any file is missing, differs, or
where a file that no list names sits in a folder pip or the model import would read.

Checksums only show damage: whoever can write a stick can rebuild both lists. So the deployer
signs ``SHA256SUMS`` (``SHA256SUMS.sig``, Ed25519, see :mod:`edgemed.bundle.signing`), and
:func:`check_bundle` verifies that signature against a key pinned on the device before it trusts
any list; the two lists must then agree line for line, and ``SHA256SUMS`` is parsed strictly.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgemed.bundle.signing import SignatureError, check_signature, signature_file
from edgemed.errors import EdgemedError, InputError
from edgemed.files import safe_relative, sha256_file
from edgemed.i18n import _

SCHEMA = 1
MANIFEST = "bundle.json"
CHECKSUMS = "SHA256SUMS"
# The deployer's Ed25519 signature of SHA256SUMS (64 raw bytes); not listed itself.
SIGNATURE = CHECKSUMS + ".sig"
# Folders whose every file must be listed: pip reads all of wheels/ and sources/.
GUARDED = ("wheels", "sources", "models", "share", "kiosk")


class BundleError(EdgemedError):
    """A bundle that cannot be used as it is."""


class BundleTampered(BundleError):
    """Files that differ from the bundle's lists: corrupt, replaced, added or missing."""

    def __init__(self, directory: Path, problems: list[str]) -> None:
        shown = problems[:10]
        more = len(problems) - len(shown)
        lines = "\n".join(f"  - {p}" for p in shown)
        if more:
            lines += "\n  " + _("... and {n} more").format(n=more)
        super().__init__(
            _("The bundle in {directory} failed its check; nothing was installed:\n{lines}").format(
                directory=directory, lines=lines
            ),
            hint=_(
                "Copy the bundle again from the machine that built it (the stick may be "
                "failing), and compare `sha256sum SHA256SUMS` with the fingerprint printed "
                "when it was built."
            ),
        )
        self.problems = problems


@dataclass(frozen=True)
class BundleFile:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class TargetFacts:
    """What the bundle was built for: the installer compares it with the machine it runs on."""

    id: str
    profile: str
    machine: str
    python: str
    glibc: str
    description: str = ""
    cpu_features: tuple[str, ...] = ()  # /proc/cpuinfo names the device must have

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "cpu_features": list(self.cpu_features)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TargetFacts:
        values = {k: str(v) for k, v in raw.items() if k != "cpu_features"}
        return cls(**values, cpu_features=tuple(str(f) for f in raw.get("cpu_features", [])))


@dataclass(frozen=True)
class LlamaBuild:
    """How llama-cpp-python arrives: compiled on the device from ``file``, or a prebuilt wheel."""

    kind: str  # "sdist", "wheel" or "none"
    file: str = ""
    cmake_args: str = ""
    build_environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BundleManifest:
    edgemed_version: str
    target: TargetFacts
    llama: LlamaBuild
    requirements: tuple[str, ...]
    files: tuple[BundleFile, ...]
    model: str | None = None
    created_at: str = ""
    created_by: str = ""
    signer: str = ""  # the deployer key's id, for people; trust comes from the pinned key only

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "signer": self.signer,
            "edgemed_version": self.edgemed_version,
            "target": self.target.to_json(),
            "llama": self.llama.__dict__,
            "requirements": list(self.requirements),
            "model": self.model,
            "files": [f.__dict__ for f in self.files],
        }

    @classmethod
    def from_json(cls, raw: Any, where: Path) -> BundleManifest:
        if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
            found = raw.get("schema") if isinstance(raw, dict) else None
            raise BundleError(
                _("{file} has schema {found}; this edgemed reads bundle schema {known}.").format(
                    file=where, found=found, known=SCHEMA
                ),
                hint=_("Build the bundle again with this version of edgemed."),
            )
        try:
            return cls(
                edgemed_version=str(raw["edgemed_version"]),
                target=TargetFacts.from_json(raw["target"]),
                llama=LlamaBuild(
                    kind=str(raw["llama"]["kind"]),
                    file=str(raw["llama"].get("file", "")),
                    cmake_args=str(raw["llama"].get("cmake_args", "")),
                    build_environment=dict(raw["llama"].get("build_environment", {})),
                ),
                requirements=tuple(str(r) for r in raw["requirements"]),
                files=tuple(
                    BundleFile(safe_path(str(f["path"]), where), str(f["sha256"]), int(f["size"]))
                    for f in raw["files"]
                ),
                model=raw.get("model"),
                created_at=str(raw.get("created_at", "")),
                created_by=str(raw.get("created_by", "")),
                signer=str(raw.get("signer", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BundleError(
                _("{file} is incomplete or damaged ({error}).").format(file=where, error=error)
            ) from None


def safe_path(path: str, where: Path) -> str:
    # A bundle comes from a USB stick: no listed path may point outside it.
    safe = safe_relative(path)
    if safe is None:
        raise BundleError(
            _("{file}: the path {path!r} leaves the bundle.").format(file=where, path=path)
        )
    return safe


def describe(directory: Path, relative: str) -> BundleFile:
    path = directory / relative
    return BundleFile(relative, sha256_file(path), path.stat().st_size)


def write_lists(directory: Path, manifest: BundleManifest) -> str:
    """Write ``bundle.json`` and ``SHA256SUMS``; returns the bundle's fingerprint."""
    (directory / MANIFEST).write_text(
        json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    listed = [*manifest.files, describe(directory, MANIFEST)]
    lines = "".join(f"{f.sha256}  {f.path}\n" for f in sorted(listed, key=lambda f: f.path))
    (directory / CHECKSUMS).write_text(lines, encoding="utf-8")
    return fingerprint(directory)


def fingerprint(directory: Path) -> str:
    """The sha256 of ``SHA256SUMS``: what ``sha256sum SHA256SUMS`` prints on any device."""
    return sha256_file(directory / CHECKSUMS)


def read_bundle(directory: Path) -> BundleManifest:
    path = directory / MANIFEST
    if not path.is_file():
        raise InputError(
            _("No {name} in {directory}: this is not an edgemed bundle.").format(
                name=MANIFEST, directory=directory
            ),
            hint=_("Point at the folder that holds install.sh and bundle.json."),
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BundleTampered(
            directory, [_("{file}: {error}").format(file=MANIFEST, error=error)]
        ) from None
    return BundleManifest.from_json(raw, path)


_SUM_LINE = re.compile(r"^([0-9a-f]{64})  ([^\\\x00-\x1f\x7f]+)$")
_MAX_LIST = 16 * 1024 * 1024


def _read_small(path: Path, limit: int = _MAX_LIST) -> bytes | None:
    """The bytes of a list or signature, read once; None if it is missing or unreadable."""
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def parse_checksums(text: str, where: Path) -> tuple[dict[str, str], list[str]]:
    """``SHA256SUMS`` as {path: sha256}, and every line that is not exactly what we write.

    Strict on purpose: ``sha256sum -c`` reads other forms (``*name``, escaped names, BSD style)
    and fails on a line naming a file that is not there, so a line this parser would skip could
    make the two checks disagree. Any line but ``<64 lower-case hex>  <safe relative path>`` is a
    problem, and so is a name given twice.
    """
    listed: dict[str, str] = {}
    problems: list[str] = []
    if not text.endswith("\n"):
        problems.append(_("{file} does not end with a new line").format(file=CHECKSUMS))
    body = text[:-1] if text.endswith("\n") else text
    for number, line in enumerate(body.split("\n"), start=1):
        match = _SUM_LINE.match(line)
        name = match.group(2) if match else ""
        try:
            safe = bool(match) and safe_path(name, where) == name
        except BundleError:
            safe = False
        if not match or not safe:
            problems.append(
                _("line {n} of {file} is malformed: {line!r}").format(
                    n=number, file=CHECKSUMS, line=line[:120]
                )
            )
            continue
        if name in listed:
            problems.append(_("{file} lists {name} twice").format(file=CHECKSUMS, name=name))
            continue
        listed[name] = match.group(1)
    return listed, problems


def check_bundle(
    directory: Path, key: bytes | None = None, *, allow_unsigned: bool = False
) -> BundleManifest:
    """Check who made the bundle and every file of it; raise naming each problem.

    ``key`` is the deployer's public key pinned on this machine (never one read from the bundle):
    ``SHA256SUMS.sig`` must be its signature of ``SHA256SUMS``, which names ``bundle.json`` and
    every other file with its sha256. Without a key the bundle is refused (:class:`SignatureError`)
    unless ``allow_unsigned``, which checks the lists for damage only: an attacker who can write
    the stick can rewrite the lists too.
    """
    directory = Path(directory)
    if not (directory / MANIFEST).is_file():
        read_bundle(directory)  # the "not an edgemed bundle" message
    sums_bytes = _read_small(directory / CHECKSUMS)
    if key is not None:
        signature = _read_small(signature_file(directory / CHECKSUMS), 64)
        check_signature(CHECKSUMS, sums_bytes or b"", signature, key)
    elif not allow_unsigned:
        raise SignatureError(
            _(
                "No deployer key is pinned on this machine, so who made the bundle in "
                "{directory} cannot be checked; nothing was installed."
            ).format(directory=directory),
            hint=_(
                "Give the deployer's public key: --deployer-key deployer.pub (from the deployer, "
                "not from this stick). --allow-unsigned checks for damage only, not for tampering."
            ),
        )
    problems: list[str] = []
    try:
        sums_text = (sums_bytes or b"").decode("utf-8")
    except UnicodeDecodeError:
        sums_text = ""
    sums, problems = parse_checksums(sums_text, directory / CHECKSUMS)
    if sums_bytes is None or not sums:
        problems.insert(0, _("{file} is missing or unreadable").format(file=CHECKSUMS))
    manifest_bytes = _read_small(directory / MANIFEST)
    if manifest_bytes is None:
        raise BundleTampered(directory, [*problems, _("{file} is missing").format(file=MANIFEST)])
    if sums.get(MANIFEST) != hashlib.sha256(manifest_bytes).hexdigest():
        problems.append(_("{file} does not match {sums}").format(file=MANIFEST, sums=CHECKSUMS))
    try:
        raw = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BundleTampered(
            directory, [*problems, _("{file}: {error}").format(file=MANIFEST, error=error)]
        ) from None
    manifest = BundleManifest.from_json(raw, directory / MANIFEST)
    listed = {f.path for f in manifest.files}
    if len(listed) != len(manifest.files):
        problems.append(_("{file} lists a file twice").format(file=MANIFEST))
    for name in sorted(set(sums) - listed - {MANIFEST}):
        problems.append(
            _("{sums} names {file}, which {manifest} does not list").format(
                sums=CHECKSUMS, file=name, manifest=MANIFEST
            )
        )
    for item in manifest.files:
        path = directory / item.path
        if item.path not in sums:
            problems.append(_("{file} is not in {sums}").format(file=item.path, sums=CHECKSUMS))
            continue
        if sums[item.path] != item.sha256:
            problems.append(
                _("{file}: {sums} and {manifest} disagree").format(
                    file=item.path, sums=CHECKSUMS, manifest=MANIFEST
                )
            )
            continue
        if path.is_symlink() or not path.is_file():
            problems.append(_("{file} is missing").format(file=item.path))
            continue
        size = path.stat().st_size
        if size != item.size:
            problems.append(
                _("{file} has {size} bytes, the bundle says {expected}").format(
                    file=item.path, size=size, expected=item.size
                )
            )
            continue
        if sha256_file(path) != item.sha256:
            problems.append(
                _("{file} does not match its sha256: corrupt or replaced").format(file=item.path)
            )
    for folder in GUARDED:
        root = directory / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if (path.is_file() or path.is_symlink()) and relative not in listed:
                problems.append(
                    _("{file} is not part of the bundle (added after it was built)").format(
                        file=relative
                    )
                )
    if problems:
        raise BundleTampered(directory, problems)
    return manifest
