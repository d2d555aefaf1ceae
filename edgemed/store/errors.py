"""The store's own errors: sqlcipher3's exceptions never cross the store boundary.

Each one carries a message a nurse (or the clinic's IT person) can act on.
"""

from __future__ import annotations

import errno
import math
from collections.abc import Iterator
from contextlib import contextmanager

from edgemed.errors import EdgemedError, InputError
from edgemed.i18n import _


class StoreError(EdgemedError):
    """Something went wrong with the encounter log."""


class LogMissing(StoreError):
    """There is no encounter log at the expected place."""


class LogExists(StoreError):
    """Refusing to create or restore over an existing log."""

    @classmethod
    def at(cls, path: object, hint: str) -> LogExists:
        return cls(_("There is already an encounter log at {path}.").format(path=path), hint)


class WrongPassphrase(StoreError):
    """The user name or passphrase does not unlock the log. Nothing was modified."""

    def __init__(self, failed_attempts: int, retry_after_s: float) -> None:
        message = _("Wrong user name or passphrase. Nothing was changed.")
        hint = ""
        if failed_attempts:
            hint = _("Failed attempts in a row: {count}.").format(count=failed_attempts)
        if retry_after_s > 0:
            hint += " " + _("Wait {seconds} s before the next try.").format(
                seconds=math.ceil(retry_after_s)
            )
        super().__init__(message, hint.strip() or None)
        self.failed_attempts = failed_attempts
        self.retry_after_s = retry_after_s


class UnlockDelayed(StoreError):
    """Too many failed attempts: the next one must wait."""

    def __init__(self, wait_s: float, damaged: str | None = None) -> None:
        hint = None
        if damaged:
            hint = _(
                "The failed-attempts file {path} was damaged or edited, so the delay applies as "
                "if someone had been guessing. Wait, then unlock as usual: the file is rewritten. "
                "If this keeps happening, check who can write to the data folder."
            ).format(path=damaged)
        super().__init__(
            _("Too many wrong passphrases: wait {seconds} s before trying again.").format(
                seconds=max(1, math.ceil(wait_s))
            ),
            hint,
        )
        self.wait_s = wait_s


class CorruptLog(StoreError):
    """The file is not a readable encounter log (damaged, or not the file its keys belong to)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            _("The encounter log is damaged or is not an edgemed log."),
            _("Restore it from the latest backup with `edgemed logs restore`.")
            + (f" ({detail})" if detail else ""),
        )


class DiskFull(StoreError):
    """The disk is full: the write was refused and nothing already saved was lost.

    The default message is for a save; :meth:`for_file` is for an export or a backup file (no part
    of which is left behind), so a message never says "NOT saved" when nothing was being saved.
    """

    def __init__(self, message: str | None = None, hint: str | None = None) -> None:
        super().__init__(
            message or _("The disk is full: this was NOT saved. Everything saved before is safe."),
            hint or _("Free some space (or move old backups off this machine), then save again."),
        )

    @classmethod
    def nothing_changed(cls) -> DiskFull:
        return cls(
            _("The disk is full: nothing was changed. Everything saved before is safe."),
            _("Free some space (or move old backups off this machine), then try again."),
        )

    @classmethod
    def for_file(cls, path: object) -> DiskFull:
        return cls(
            _(
                "The disk is full: {path} was NOT written, and no part of it was left behind."
            ).format(path=path),
            _("Free some space or choose another disk; the encounter log itself is unchanged."),
        )


class DiskError(StoreError):
    """The operating system refused to read or write the log file."""

    def __init__(self, detail: str, message: str | None = None) -> None:
        super().__init__(
            message or _("The encounter log could not be written: {detail}").format(detail=detail),
            _("Check the disk and its free space; what was saved before is safe."),
        )

    @classmethod
    def for_file(cls, path: object, detail: str) -> DiskError:
        return cls(
            detail,
            _("{path} could not be written: {detail}").format(path=path, detail=detail),
        )


class LogReadOnly(StoreError):
    """The log failed its safety check when it was unlocked: it can be read, not written."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            _(
                "The encounter log failed its safety check when it was opened, so nothing can be "
                "saved in it: {reason}"
            ).format(reason=reason),
            _(
                "Tell the clinic's supervisor. `edgemed logs verify` shows every problem; "
                "`edgemed logs verify --acknowledge` records them in the audit log and allows "
                "saving again."
            ),
        )
        self.reason = reason


class WeakPassphrase(InputError):
    """A new passphrase is too short or one of the most common passwords."""

    @classmethod
    def too_short(cls) -> WeakPassphrase:
        # The same words (and translations) as the app's first-run screen always used.
        return cls(_("The passphrase must be at least 8 characters long."))

    @classmethod
    def too_common(cls) -> WeakPassphrase:
        return cls(
            _("That passphrase is one of the most common passwords: it would be guessed first."),
            _("Choose a few words that only you would put together."),
        )


class OutputRefused(InputError):
    """An export or backup would overwrite a file (or the log's own files)."""


class LogBusy(StoreError):
    """Another program holds the log for writing."""

    def __init__(self) -> None:
        super().__init__(
            _("The encounter log is busy in another window."),
            _("Close the other edgemed window and try again."),
        )


class LogLocked(StoreError):
    """The log has not been unlocked yet (a programming error in the caller)."""

    def __init__(self) -> None:
        super().__init__(_("The encounter log is locked: unlock it with a passphrase first."))


class UnknownUser(InputError):
    """No account of that name."""


class UnknownEncounter(InputError):
    """No encounter with that id (or the id prefix is ambiguous)."""


class PlaintextRefused(InputError):
    """A plaintext export was asked for without the explicit choice."""


class BadBackup(StoreError):
    """The file is not an edgemed backup, or it is damaged."""

    @classmethod
    def damaged(cls, path: object) -> BadBackup:
        return cls(_("The backup {path} is incomplete or damaged.").format(path=path))


def _is_sqlcipher_error(error: BaseException) -> bool:
    return type(error).__module__.startswith("sqlcipher3")


def translate(error: BaseException) -> StoreError | None:
    """The store's error for a sqlcipher3 or OS error, or None when it is none of ours."""
    if isinstance(error, OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return DiskFull()
        return DiskError(error.strerror or str(error))
    if not _is_sqlcipher_error(error):
        return None
    text = str(error).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return DiskFull()
    if (
        "not a database" in text
        or "malformed" in text
        or "hmac check failed" in text
        or "no such table" in text
    ):
        return CorruptLog(str(error))
    if "locked" in text or "busy" in text:
        return LogBusy()
    if "disk i/o error" in text or "unable to open" in text or "readonly" in text:
        return DiskError(str(error))
    return None


@contextmanager
def store_errors() -> Iterator[None]:
    """Run a block, turning sqlcipher3 and OS errors into the store's own errors."""
    try:
        yield
    except StoreError:
        raise
    except Exception as error:  # narrowed just below: only errors we recognise are translated
        mapped = translate(error)
        if mapped is None:
            raise
        raise mapped from error
