"""File primitives shared by all of edgemed: sha256, safe paths, atomic private writes, the clock.

Standard library only, and nothing else of edgemed (an import-linter contract keeps it so): the
bundle installer imports this module straight out of the wheel on a blank device
(``python -I -S``), and the store, the catalog, the settings and ``edgemed-quantize`` import it too.
Nothing here speaks to a person: problems are raised as standard exceptions (or
:class:`OutputRefusal` with a reason code) and each caller words them in its own catalog.

- :func:`sha256_file` / :func:`sha256_stream`: one way to hash a file, in 1 MiB reads.
- :func:`safe_relative`: a path listed in a manifest, refused when it could leave its folder.
- :func:`write_atomic` / :func:`atomic_file`: a temporary file beside the target (0600 unless
  said otherwise, its name carrying the writer's process id), fsynced, then renamed over the
  target (or linked, never over a file that appeared meanwhile), then the folder fsynced: after a
  power cut the target is the old file or the new one, never half of one. On any error the
  temporary file is removed; one left by a ``kill -9`` is removed by the next write into the same
  folder once its process is gone.
- :func:`check_destination`: the output-path rules for files written for people to take away
  (exports, backups): resolved, never one of the protected files, never inside a protected
  folder, never a folder, never over an existing file unless ``force``.
- :func:`utc_now`: the one clock of every stored time.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO, Literal

CHUNK = 1024 * 1024
PRIVATE_FILE = 0o600  # this account only: the log, its keyring, settings, exports, backups
PRIVATE_DIR = 0o700
SHARED_FILE = 0o644  # what a service account must read too: model and bundle manifests
PARTIAL = ".partial-"

Progress = Callable[[int], None]


def utc_now() -> datetime:
    """Now, in UTC (every time edgemed stores is UTC; the clinic's zone is for display)."""
    return datetime.now(timezone.utc)


# --- sha256 -------------------------------------------------------------------------------------


def sha256_stream(stream: BinaryIO, progress: Progress | None = None, chunk: int = CHUNK) -> str:
    """The sha256 of what is left to read in ``stream``; ``progress`` gets each read's size."""
    digest = hashlib.sha256()
    while block := stream.read(chunk):
        digest.update(block)
        if progress is not None:
            progress(len(block))
    return digest.hexdigest()


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """The sha256 of the file at ``path`` (hex, lower case)."""
    with Path(path).open("rb") as stream:
        return sha256_stream(stream, progress)


# --- safe paths ---------------------------------------------------------------------------------


def safe_relative(path: str) -> str | None:
    """``path`` as a clean relative POSIX path, or None when it could leave its folder.

    A manifest on a USB stick lists its files: an empty, absolute or ``..`` path, or one with a
    backslash (a Windows separator that POSIX would keep in a name), is never followed.
    """
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        return None
    return str(pure)


def is_inside(path: Path, folder: Path) -> bool:
    """True when ``path`` is ``folder`` or lies under it, both resolved (symlinks, ``..``)."""
    target, root = Path(path).resolve(), Path(folder).resolve()
    return target == root or root in target.parents


# --- output paths -------------------------------------------------------------------------------

RefusalReason = Literal["unusable", "protected", "inside", "folder", "exists", "no-folder"]


class OutputRefusal(Exception):
    """A destination that may not be written; ``reason`` says why, for the caller to word."""

    def __init__(
        self, reason: RefusalReason, path: Path, *, detail: str = "", where: Path | None = None
    ):
        super().__init__(f"{path}: {reason}{': ' + detail if detail else ''}")
        self.reason: RefusalReason = reason
        self.path = path
        self.detail = detail
        self.where = where  # the protected folder (``inside``) or the missing one (``no-folder``)


def check_destination(
    dest: Path,
    *,
    protected: Iterable[Path] = (),
    protected_folders: Iterable[Path] = (),
    force: bool = False,
) -> Path:
    """The resolved destination for a new file, or :class:`OutputRefusal` saying why not.

    Refused: one of ``protected`` (compared resolved: a symlink or ``..`` does not get round it),
    anything inside one of ``protected_folders``, a folder, an existing file (or dangling symlink)
    unless ``force``, and a destination whose folder does not exist.
    """
    try:
        target = Path(dest).expanduser().resolve()
        guarded = {Path(p).expanduser().resolve() for p in protected}
        folders = [Path(f).expanduser().resolve() for f in protected_folders]
    except (OSError, RuntimeError) as error:
        raise OutputRefusal("unusable", dest, detail=str(error)) from None
    if target in guarded:
        raise OutputRefusal("protected", dest)
    for folder in folders:
        if target == folder or folder in target.parents:
            raise OutputRefusal("inside", dest, where=folder)
    if target.is_dir():
        raise OutputRefusal("folder", dest)
    if (target.exists() or Path(dest).is_symlink()) and not force:
        raise OutputRefusal("exists", dest)
    if not target.parent.is_dir():
        raise OutputRefusal("no-folder", dest, where=target.parent)
    return target


# --- atomic writes ------------------------------------------------------------------------------


def fsync_dir(folder: Path) -> None:
    """Make a rename or link in ``folder`` durable (its entry is on disk, not just the file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def remove_stale_partials(folder: Path) -> None:
    """Temporary files of writers that were killed (their process is gone) in ``folder``."""
    for stale in folder.glob(f".*{PARTIAL}*"):
        pid_text = stale.name.rpartition(PARTIAL)[2].split("-")[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with suppress(OSError):
            stale.unlink()


def _put_in_place(temporary: Path, target: Path, replace: bool) -> None:
    if replace:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)  # fails if a file appeared there meanwhile: never overwritten
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links here (a FAT USB stick): check again, then rename.
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.replace(temporary, target)


@contextmanager
def atomic_file(
    target: Path, *, mode: int = PRIVATE_FILE, replace: bool = True, binary: bool = True
) -> Iterator[IO[Any]]:
    """Write ``target`` through a temporary file beside it; in place only if the block succeeds.

    ``replace=False`` never writes over a file that exists when the content is put in place
    (:class:`FileExistsError`). ``mode`` is the new file's permission bits, whatever the umask.
    OS errors are raised as they are.
    """
    target = Path(target)
    temporary = target.with_name(f".{target.name}{PARTIAL}{os.getpid()}-{secrets.token_hex(4)}")
    remove_stale_partials(target.parent)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        encoding, newline = (None, None) if binary else ("utf-8", "")
        with open(fd, "wb" if binary else "w", encoding=encoding, newline=newline) as handle:
            os.fchmod(handle.fileno(), mode)  # exactly ``mode``, whatever the umask
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _put_in_place(temporary, target, replace)
        fsync_dir(target.parent)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(
    path: Path, data: bytes | str, *, mode: int = PRIVATE_FILE, replace: bool = True
) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; see :func:`atomic_file`."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_file(path, mode=mode, replace=replace) as handle:
        handle.write(payload)
    return Path(path)
