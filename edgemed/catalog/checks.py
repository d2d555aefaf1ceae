"""Vouching for a model file before it is loaded: size, sha256 (cached by size and mtime), header.

Hashing a 1 GB model takes seconds on a Pi, so a file's verdict is remembered in the cache dir,
keyed by its absolute path, size and modification time: a file that changes in any of them is
hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from edgemed.catalog.gguf_header import ModelFileError, read_gguf_header
from edgemed.catalog.manifest import Artifact, ArtifactFile
from edgemed.i18n import _
from edgemed.locations import cache_dir

CHUNK = 4 * 1024 * 1024
Progress = Callable[[int], None]


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    """The sha256 of ``path``; ``progress`` is called with the number of bytes read each time."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


def _verdicts_file() -> Path:
    return cache_dir() / "verified-models.json"


def _load_verdicts() -> dict[str, str]:
    try:
        raw = json.loads(_verdicts_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _remember(key: str, sha256: str) -> None:
    verdicts = _load_verdicts()
    verdicts[key] = sha256
    target = _verdicts_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(verdicts, indent=1), encoding="utf-8")
        temporary.replace(target)
    except OSError:
        # A read-only cache only costs a re-hash next time; it is no reason to refuse a model.
        return


def _key(path: Path) -> str:
    # ctime too: mtime can be set back with `touch -d` after an edit, ctime cannot.
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}"


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
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            _("{path} is missing.").format(path=path),
            hint=_("Install the model again with `edgemed models install ID`."),
        )
    size = path.stat().st_size
    if expected.size >= 0 and size != expected.size:
        raise ModelFileError(
            _(
                "{path} has {size} bytes but should have {expected}: it is truncated or replaced."
            ).format(path=path, size=size, expected=expected.size),
            hint=_(
                "Remove it and install it again: `edgemed models remove ID`, then `install ID`."
            ),
        )
    key = _key(path)
    if use_cache and _load_verdicts().get(key) == expected.sha256:
        return True
    actual = sha256_of(path, progress)
    if actual != expected.sha256:
        raise ModelFileError(
            _("{path} does not match its checksum (sha256 {actual}, expected {expected}): "
              "it is corrupt or has been tampered with.").format(
                path=path, actual=actual, expected=expected.sha256
            ),
            hint=_("Remove it and install it again: `edgemed models remove ID`, then `install`."),
        )  # fmt: skip
    if remember:
        _remember(key, actual)
    return False


def check_artifact(
    directory: Path,
    artifact: Artifact,
    *,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> Path:
    """Check every file of ``artifact`` under ``directory``; return the path an engine opens."""
    cached = [
        check_file(directory / f.path, f, use_cache=use_cache, progress=progress, remember=False)
        for f in artifact.files
    ]
    entry = artifact.entry_point(directory)
    # A verdict is cached only after the full check, header included; reading the header again
    # (0.1 s for a 49k-token vocabulary) would only slow every load.
    if all(cached):
        return entry
    if artifact.format == "gguf":
        read_gguf_header(entry)
    for expected in artifact.files:
        path = directory / expected.path
        _remember(_key(path), expected.sha256)
    return entry


def vouch_fresh(directory: Path, artifact: Artifact) -> Path:
    """Record files just written and hashed on the way in (install, import) as intact.

    Their sha256 was compared while they were written, so only the header is read here: a
    second full hash would double a 1 GB install on a Pi.
    """
    entry = artifact.entry_point(directory)
    if artifact.format == "gguf":
        read_gguf_header(entry)
    for expected in artifact.files:
        _remember(_key(directory / expected.path), expected.sha256)
    return entry


__all__ = ["ModelFileError", "check_artifact", "check_file", "sha256_of"]
