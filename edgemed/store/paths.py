"""Where the log's files are, and who may read them (0600 files, a 0700 folder).

The lowest layer of the store with :mod:`edgemed.store.errors`: the store, its outputs and its
backups all ask this module which files belong to a log, so none of them imports another for it.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from edgemed.files import PRIVATE_DIR, PRIVATE_FILE
from edgemed.locations import data_dir, encounter_log
from edgemed.store.errors import store_errors


def log_files(path: Path) -> list[Path]:
    """Every file that belongs to the log at ``path`` (what no export or backup may replace).

    The first five are the log itself (database, -wal, -shm, -journal, keyring): where any of
    them exists, there is a log.
    """
    names = ["", "-wal", "-shm", "-journal", ".keyring", ".attempts", ".attempts-key", ".lock"]
    return [path.with_name(path.name + suffix) for suffix in names]


def log_exists(path: Path) -> bool:
    return any(p.exists() for p in log_files(path)[:5])


def make_private_dir(folder: Path) -> None:
    """Create the log's folder 0700; the data folder itself is tightened to 0700 too."""
    with store_errors():
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        if folder.resolve() == data_dir().resolve() and folder.stat().st_mode & 0o077:
            os.chmod(folder, PRIVATE_DIR)


def tighten_permissions(path: Path) -> None:
    """The log's files are this account's only (0600); older logs are tightened at unlock."""
    for one in log_files(path):
        with suppress(OSError):
            if one.exists() and one.stat().st_mode & 0o077:
                os.chmod(one, PRIVATE_FILE)


def permission_problems(database: Path | None = None) -> list[str]:
    """What others could read (for `edgemed doctor`): the data folder and the log's files."""
    database = database or encounter_log()
    found: list[str] = []
    for folder in {data_dir(), database.parent}:
        if folder.exists() and folder.stat().st_mode & 0o077:
            found.append(f"{folder} is {oct(folder.stat().st_mode & 0o777)} (want 0o700)")
    for one in log_files(database):
        if one.exists() and one.stat().st_mode & 0o077:
            found.append(f"{one} is {oct(one.stat().st_mode & 0o777)} (want 0o600)")
    return found
