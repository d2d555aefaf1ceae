"""Vouching for a model file before it is loaded: size, sha256 (cached verdicts), header.

Hashing a 1 GB model takes seconds on a Pi, so a file's verdict is remembered in the cache dir,
keyed by its absolute path, device, inode, size, modification and change times: a file that
changes in any of them is hashed again. Every verdict carries an HMAC under a per-install secret
(``<data dir>/model-verdicts.key``, 0600), so a cache file written by anyone else (another account,
a stick's script) vouches for nothing: an entry whose MAC does not check is ignored and the file is
hashed.

What is verified is what is loaded: the sha256 is read through one open handle whose identity
(device, inode, size, mtime, ctime) is taken before and after hashing, and the engine's caller
compares the same identity after the engine opened the path (:meth:`FileStamp.ensure_unchanged`).
A file swapped in between (rename, hard link, in-place write: each changes the inode or the ctime)
is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgemed.catalog.gguf_header import ModelFileError, read_gguf_header
from edgemed.catalog.manifest import Artifact, ArtifactFile
from edgemed.files import sha256_stream, write_atomic
from edgemed.i18n import _
from edgemed.locations import cache_dir, data_dir

CHUNK = 4 * 1024 * 1024
Progress = Callable[[int], None]
_KEY_BYTES = 32


@dataclass(frozen=True)
class FileStamp:
    """Which file, exactly: what a swap, a new link or an in-place write would change."""

    path: Path
    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path, info: os.stat_result) -> FileStamp:
        return cls(path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

    @classmethod
    def now(cls, path: Path) -> FileStamp:
        return cls.of(path, os.stat(path))

    def ensure_unchanged(self) -> None:
        """Raise :class:`ModelFileError` unless ``path`` is still the very file that was checked."""
        try:
            current = FileStamp.now(self.path)
        except OSError:
            current = None
        if current != self:
            raise ModelFileError(
                f"{self.path} changed after it was checked (replaced, relinked or rewritten): "
                "it was not used.",
                hint="Check the models folder: `edgemed models verify`. Who else can write it?",
            )


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    """The sha256 of ``path``; ``progress`` is called with the number of bytes read each time."""
    return _hash_stamped(Path(path), progress)[0]


def _hash_stamped(path: Path, progress: Progress | None = None) -> tuple[str, FileStamp]:
    """The sha256 read through one handle, and that handle's identity (unchanged throughout)."""
    with Path(path).open("rb") as stream:
        before = FileStamp.of(path, os.fstat(stream.fileno()))
        digest = sha256_stream(stream, progress, CHUNK)
        after = FileStamp.of(path, os.fstat(stream.fileno()))
    if after != before or FileStamp.now(path) != before:
        raise ModelFileError(
            f"{path} changed while it was being checked: it was not used.",
            hint="Check the models folder: `edgemed models verify`. Who else can write it?",
        )
    return digest, before


def _verdicts_file() -> Path:
    return cache_dir() / "verified-models.json"


def _secret_file() -> Path:
    return data_dir() / "model-verdicts.key"


def _secret(create: bool) -> bytes | None:
    """The per-install MAC key; None (no cache at all) if it cannot be read or made safely."""
    path = _secret_file()
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        if not create:
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, secrets.token_bytes(_KEY_BYTES), replace=False)
        except FileExistsError:
            pass  # another process made it first: read that one
        except OSError:
            return None
        return _secret(create=False)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        key = os.read(descriptor, _KEY_BYTES + 1)
    finally:
        os.close(descriptor)
    private = not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    if not stat.S_ISREG(info.st_mode) or not private or info.st_uid != os.geteuid():
        return None  # a key others could read or plant vouches for nothing
    return key if len(key) == _KEY_BYTES else None


def _mac(secret: bytes, key: str, sha256: str) -> str:
    return hmac.new(secret, f"{key}\n{sha256}".encode(), hashlib.sha256).hexdigest()


def _load_verdicts(secret: bytes | None = None) -> dict[str, str]:
    """{file key: sha256} for every cached verdict whose MAC checks under this install's key."""
    secret = secret if secret is not None else _secret(create=False)
    if secret is None:
        return {}
    try:
        raw = json.loads(_verdicts_file().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    verdicts: dict[str, str] = {}
    for key, value in raw.items() if isinstance(raw, dict) else []:
        if not isinstance(value, dict):
            continue
        sha, mac = str(value.get("sha256", "")), str(value.get("mac", ""))
        if hmac.compare_digest(mac, _mac(secret, str(key), sha)):
            verdicts[str(key)] = sha
    return verdicts


def _remember(key: str, sha256: str) -> None:
    secret = _secret(create=True)
    if secret is None:
        return  # no safe key: every load hashes again, which is slow but never wrong
    verdicts = _load_verdicts(secret)
    verdicts[key] = sha256
    document = {k: {"sha256": v, "mac": _mac(secret, k, v)} for k, v in verdicts.items()}
    target = _verdicts_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, json.dumps(document, indent=1))
    except OSError:
        # A read-only cache only costs a re-hash next time; it is no reason to refuse a model.
        return


def _key(stamp: FileStamp) -> str:
    # ctime too: mtime can be set back with `touch -d` after an edit, ctime cannot; the inode
    # and device: a different file renamed into place is another file.
    return (
        f"{stamp.path.resolve()}|{stamp.device}|{stamp.inode}|{stamp.size}|"
        f"{stamp.mtime_ns}|{stamp.ctime_ns}"
    )


def check_file(
    path: Path,
    expected: ArtifactFile,
    *,
    use_cache: bool = True,
    progress: Progress | None = None,
    remember: bool = True,
) -> bool:
    """Raise :class:`ModelFileError` unless ``path`` has the expected size and sha256.

    Returns True when the verdict came from the cache (the file was vouched for before).
    """
    cached, stamp = _check_one(Path(path), expected, use_cache, progress)
    if remember and not cached:
        _remember(_key(stamp), expected.sha256)
    return cached


def _check_one(
    path: Path, expected: ArtifactFile, use_cache: bool, progress: Progress | None
) -> tuple[bool, FileStamp]:
    if not path.is_file():
        raise ModelFileError(
            _("{path} is missing.").format(path=path),
            hint=_("Install the model again with `edgemed models install ID`."),
        )
    stamp = FileStamp.now(path)
    size = stamp.size
    if expected.size >= 0 and size != expected.size:
        raise ModelFileError(
            _(
                "{path} has {size} bytes but should have {expected}: it is truncated or replaced."
            ).format(path=path, size=size, expected=expected.size),
            hint=_(
                "Remove it and install it again: `edgemed models remove ID`, then `install ID`."
            ),
        )
    if use_cache and _load_verdicts().get(_key(stamp)) == expected.sha256:
        return True, stamp
    actual, stamp = _hash_stamped(path, progress)
    if actual != expected.sha256:
        raise ModelFileError(
            _("{path} does not match its checksum (sha256 {actual}, expected {expected}): "
              "it is corrupt or has been tampered with.").format(
                path=path, actual=actual, expected=expected.sha256
            ),
            hint=_("Remove it and install it again: `edgemed models remove ID`, then `install`."),
        )  # fmt: skip
    return False, stamp


def check_artifact(
    directory: Path,
    artifact: Artifact,
    *,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> Path:
    """Check every file of ``artifact`` under ``directory``; return the path an engine opens."""
    return check_artifact_stamped(directory, artifact, use_cache=use_cache, progress=progress)[0]


def check_artifact_stamped(
    directory: Path,
    artifact: Artifact,
    *,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> tuple[Path, tuple[FileStamp, ...]]:
    """Check every file; return what an engine opens and the identity of each file checked.

    After the engine has opened the path, ``stamp.ensure_unchanged()`` for each stamp proves that
    it opened the checked file and not one swapped in since.
    """
    checked = [_check_one(directory / f.path, f, use_cache, progress) for f in artifact.files]
    stamped = tuple(stamp for _cached, stamp in checked)
    entry = artifact.entry_point(directory)
    # A verdict is cached only after the full check, header included; reading the header again
    # (0.1 s for a 49k-token vocabulary) would only slow every load.
    if all(cached for cached, _stamp in checked):
        return entry, stamped
    if artifact.format == "gguf":
        read_gguf_header(entry)
    for stamp in stamped:
        stamp.ensure_unchanged()
    for expected, stamp in zip(artifact.files, stamped, strict=True):
        _remember(_key(stamp), expected.sha256)
    return entry, stamped


def remember_written(stamp: FileStamp, sha256: str) -> None:
    """Record a file hashed while it was written (install, import) as intact."""
    stamp.ensure_unchanged()
    _remember(_key(stamp), sha256)


def vouch_fresh(directory: Path, artifact: Artifact, written: dict[str, FileStamp]) -> Path:
    """Record files just written and hashed on the way in (install, import) as intact.

    Their sha256 was compared while they were written, so only the header is read here: a
    second full hash would double a 1 GB install on a Pi. ``written`` holds each file's identity
    as it was written; a file replaced since is not vouched for.
    """
    entry = artifact.entry_point(directory)
    if artifact.format == "gguf":
        read_gguf_header(entry)
    for expected in artifact.files:
        remember_written(written[expected.path], expected.sha256)
    return entry


__all__ = [
    "FileStamp",
    "ModelFileError",
    "check_artifact",
    "check_artifact_stamped",
    "check_file",
    "sha256_of",
]
