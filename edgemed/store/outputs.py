"""Files the log writes for people to take away (exports, backups): never over what matters.

- The destination is resolved (``..`` and symlinks followed) and refused when it is one of the
  log's own files (the database, its -wal/-shm, keyring, attempts, lock) or anything inside the
  data folder; an existing file is refused unless ``force``.
- The content goes to a 0600 temporary file beside the destination (``.<name>.partial-<random>``),
  fsynced, then linked (no ``force``: never over a file that appeared meanwhile) or renamed into
  place. On any error the temporary file is removed, so a full disk never leaves half a plaintext
  export behind; a ``kill -9`` can leave the hidden partial file (0600; its name carries the
  writer's process id), which the next export or backup into the same folder removes once that
  process is gone.
- OS errors become the store's own clear errors (:class:`DiskFull`, :class:`DiskError`).
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from edgemed.i18n import _
from edgemed.locations import data_dir
from edgemed.store.errors import DiskError, DiskFull, OutputRefused, StoreError
from edgemed.store.keyring import FILE_MODE, fsync_dir

_PARTIAL = ".partial-"


def _refuse(message: str, hint: str | None = None) -> OutputRefused:
    return OutputRefused(message, hint)


def check_output(dest: Path, *, database: Path, force: bool = False) -> Path:
    """The resolved destination, or :class:`OutputRefused` saying why it may not be written."""
    from edgemed.store.store import log_files

    try:
        target = dest.expanduser().resolve()
        protected = {p.resolve() for p in log_files(database.expanduser())}
        home = data_dir().resolve()
    except (OSError, RuntimeError) as error:
        raise _refuse(_("{path} cannot be used: {error}").format(path=dest, error=error)) from None
    if target in protected:
        raise _refuse(
            _(
                "{path} is one of the encounter log's own files: it will never be overwritten."
            ).format(path=dest),
            _("Choose another file name, for example on a USB stick."),
        )
    if target == home or home in target.parents:
        raise _refuse(
            _("{path} is inside edgemed's data folder {home}: write it somewhere else.").format(
                path=dest, home=home
            )
        )
    if target.is_dir():
        raise _refuse(_("{path} is a folder: give a file name.").format(path=dest))
    if (target.exists() or dest.is_symlink()) and not force:
        raise _refuse(
            _("{path} already exists.").format(path=dest),
            _("Choose a new name, or add --force to replace it."),
        )
    if not target.parent.is_dir():
        raise _refuse(_("The folder {folder} does not exist.").format(folder=target.parent))
    return target


def _os_error(error: OSError, path: Path) -> StoreError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return DiskFull.for_file(path)
    return DiskError.for_file(path, error.strerror or str(error))


def _remove_stale_partials(folder: Path) -> None:
    """Partial files of writers that were killed (their process is gone)."""
    for stale in folder.glob(f".*{_PARTIAL}*"):
        pid_text = stale.name.rpartition(_PARTIAL)[2].split("-")[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with suppress(OSError):
            stale.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


@contextmanager
def output_file(
    dest: Path, *, database: Path, force: bool = False, binary: bool = False
) -> Iterator[IO[Any]]:
    """Open a private temporary file for ``dest``; on success it becomes ``dest``."""
    target = check_output(dest, database=database, force=force)
    tmp = target.with_name(f".{target.name}{_PARTIAL}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        _remove_stale_partials(target.parent)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError as error:
        raise _os_error(error, dest) from error
    try:
        mode = "wb" if binary else "w"
        encoding = None if binary else "utf-8"
        newline = None if binary else ""
        with open(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _put_in_place(tmp, target, dest, force)
        fsync_dir(target.parent)
    except OSError as error:
        raise _os_error(error, dest) from error
    finally:
        tmp.unlink(missing_ok=True)


def _put_in_place(tmp: Path, target: Path, dest: Path, force: bool) -> None:
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if a file appeared there meanwhile: never overwritten
    except FileExistsError:
        raise _refuse(
            _("{path} already exists.").format(path=dest),
            _("Choose a new name, or add --force to replace it."),
        ) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links here (a FAT USB stick): check again, then rename.
        if target.exists():
            raise _refuse(_("{path} already exists.").format(path=dest)) from None
        os.replace(tmp, target)


def write_output(dest: Path, data: bytes, *, database: Path, force: bool = False) -> Path:
    with output_file(dest, database=database, force=force, binary=True) as handle:
        handle.write(data)
    return dest
