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

The rules and the writing are :mod:`edgemed.files` (:func:`~edgemed.files.check_destination`,
:func:`~edgemed.files.atomic_file`); this module gives them the log's files and data folder, and
words every refusal for the nurse.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from edgemed.files import OutputRefusal, atomic_file, check_destination
from edgemed.i18n import _
from edgemed.locations import data_dir
from edgemed.store.errors import DiskError, DiskFull, OutputRefused, StoreError
from edgemed.store.paths import log_files


def _exists(dest: Path) -> OutputRefused:
    return OutputRefused(
        _("{path} already exists.").format(path=dest),
        _("Choose a new name, or add --force to replace it."),
    )


def _refused(refusal: OutputRefusal, dest: Path) -> OutputRefused:
    """The rule :func:`edgemed.files.check_destination` applied, in the nurse's words."""
    if refusal.reason == "protected":
        return OutputRefused(
            _(
                "{path} is one of the encounter log's own files: it will never be overwritten."
            ).format(path=dest),
            _("Choose another file name, for example on a USB stick."),
        )
    if refusal.reason == "inside":
        return OutputRefused(
            _("{path} is inside edgemed's data folder {home}: write it somewhere else.").format(
                path=dest, home=refusal.where
            )
        )
    if refusal.reason == "folder":
        return OutputRefused(_("{path} is a folder: give a file name.").format(path=dest))
    if refusal.reason == "exists":
        return _exists(dest)
    if refusal.reason == "no-folder":
        return OutputRefused(_("The folder {folder} does not exist.").format(folder=refusal.where))
    return OutputRefused(
        _("{path} cannot be used: {error}").format(path=dest, error=refusal.detail)
    )


def check_output(dest: Path, *, database: Path, force: bool = False) -> Path:
    """The resolved destination, or :class:`OutputRefused` saying why it may not be written."""
    try:
        return check_destination(
            dest,
            protected=log_files(database.expanduser()),
            protected_folders=[data_dir()],
            force=force,
        )
    except OutputRefusal as refusal:
        raise _refused(refusal, dest) from None


def _os_error(error: OSError, path: Path) -> StoreError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return DiskFull.for_file(path)
    return DiskError.for_file(path, error.strerror or str(error))


@contextmanager
def output_file(
    dest: Path, *, database: Path, force: bool = False, binary: bool = False
) -> Iterator[IO[Any]]:
    """Open a private temporary file for ``dest``; on success it becomes ``dest``."""
    target = check_output(dest, database=database, force=force)
    try:
        with atomic_file(target, replace=force, binary=binary) as handle:
            yield handle
    except FileExistsError:
        raise _exists(dest) from None  # a file appeared there meanwhile: never overwritten
    except OSError as error:
        raise _os_error(error, dest) from error


def write_output(dest: Path, data: bytes, *, database: Path, force: bool = False) -> Path:
    with output_file(dest, database=database, force=force, binary=True) as handle:
        handle.write(data)
    return dest
