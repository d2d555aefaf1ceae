"""Failed unlock attempts, counted outside the encrypted log (which a wrong key cannot open).

The counter is kept per log, not per account, so guessing across user names gains nothing. After a
few free attempts (typos happen), each further try must wait twice as long as the last, up to a
cap; a successful unlock resets the counter and writes the count into the audit log.

The whole check -> Argon2 -> record sequence runs under the log's file lock (``<db>.lock``,
see :func:`edgemed.store.keyring.log_lock`), so parallel guesses queue up and every one is counted.

The file (``<db>.attempts``) is authenticated: an HMAC-SHA256 with a random per-log secret kept
0600 beside it (``<db>.attempts-key``, created at the first failure). A crafted value (a negative
count, a far-future time, a count that overflows the delay) is caught; values are clamped anyway.
A damaged, edited or unauthentic file fails SAFE: the delay applies once, from now, and the file is
rewritten, so it never locks nurses out for good. The limit, stated honestly: whoever can write to
the data folder can read the secret too, and can delete both files (fresh free tries). The MAC
stops crafted values and careless edits, not the machine's own account; against someone who copies
the files, the Argon2id cost is the real defence (docs/security.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from edgemed.files import write_atomic
from edgemed.store.errors import StoreError, store_errors

ATTEMPTS_FORMAT = "edgemed-attempts/1"
MAX_COUNT = 1_000_000
CLOCK_SKEW_S = 120.0


@dataclass(frozen=True)
class AttemptPolicy:
    """How long to make a guesser wait: ``base_s * 2**(failures - free)``, at most ``cap_s``."""

    free_attempts: int = 3
    base_s: float = 2.0
    cap_s: float = 300.0

    def delay_after(self, failures: int) -> float:
        if failures < self.free_attempts:
            return 0.0
        # The exponent is bounded: a count of 1027 used to overflow a float (OverflowError).
        exponent = min(failures - self.free_attempts, 64)
        return float(min(self.cap_s, self.base_s * 2.0**exponent))


def _key_path(database: Path) -> Path:
    return database.with_name(database.name + ".attempts-key")


def _read_key(database: Path, *, create: bool) -> bytes | None:
    path = _key_path(database)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        key = secrets.token_bytes(32)
        try:
            write_atomic(path, key, replace=False)  # never over a key another process just made
        except FileExistsError:
            return path.read_bytes()
        return key
    return key if len(key) == 32 else None


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class FailedAttempts:
    count: int = 0
    last_failure: float = 0.0
    damaged: bool = False  # the file could not be trusted: the fail-safe values are in force

    @staticmethod
    def path_for(database: Path) -> Path:
        return database.with_name(database.name + ".attempts")

    @classmethod
    def load(
        cls, database: Path, policy: AttemptPolicy | None = None, now: float | None = None
    ) -> FailedAttempts:
        """Read the counter; call under the log lock (a damaged file is rewritten fail-safe)."""
        policy = policy or AttemptPolicy()
        now = time_now() if now is None else now
        path = cls.path_for(database)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            if _key_path(database).exists():
                # A secret exists only once an attempt failed, and a success rewrites the
                # counter to 0 rather than deleting it: a missing counter was deleted.
                return cls._fail_safe(database, policy, now)
            return cls()
        except OSError:
            return cls._fail_safe(database, policy, now)
        try:
            raw = json.loads(blob)
            body, mac = raw["body"], raw["mac"]
            key = _read_key(database, create=False)
            if key is None or not isinstance(mac, str) or not isinstance(body, str):
                raise ValueError("unauthenticated")
            if not hmac.compare_digest(_mac(key, body), mac):
                raise ValueError("edited")
            values = json.loads(body)
            if values.get("format") != ATTEMPTS_FORMAT:
                raise ValueError("format")
            count, last = values["count"], values["last_failure"]
            if type(count) is not int or not isinstance(last, (int, float)):
                raise ValueError("types")
            if not math.isfinite(last) or last < 0:
                raise ValueError("time")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return cls._fail_safe(database, policy, now)
        count = max(0, min(count, MAX_COUNT))
        if last > now + CLOCK_SKEW_S:
            # The clock went back (or the file says so): count the delay from now, once.
            return cls._write(database, count, now)
        return cls(count, min(float(last), now))

    @classmethod
    def _fail_safe(cls, database: Path, policy: AttemptPolicy, now: float) -> FailedAttempts:
        """Unknown count: as if the free attempts were used up just now (the first delay)."""
        try:
            written = cls._write(database, max(policy.free_attempts, 1), now)
        except (StoreError, OSError):
            written = cls(max(policy.free_attempts, 1), now)
        return cls(written.count, written.last_failure, damaged=True)

    @classmethod
    def _write(cls, database: Path, count: int, now: float) -> FailedAttempts:
        with store_errors():
            key = _read_key(database, create=True)
        if key is None:  # a damaged secret file: replace it (the old counter is void anyway)
            with store_errors():
                _key_path(database).unlink(missing_ok=True)
                key = _read_key(database, create=True)
        assert key is not None
        body = json.dumps(
            {"format": ATTEMPTS_FORMAT, "count": count, "last_failure": now}, sort_keys=True
        )
        blob = json.dumps({"body": body, "mac": _mac(key, body)})
        with store_errors():
            write_atomic(cls.path_for(database), blob.encode())
        return cls(count, now)

    def wait_needed(self, policy: AttemptPolicy, now: float) -> float:
        delay = policy.delay_after(self.count)
        return max(0.0, min(delay, self.last_failure + delay - now))

    def record_failure(self, database: Path, now: float) -> FailedAttempts:
        return self._write(database, min(self.count + 1, MAX_COUNT), now)

    def reset(self, database: Path) -> None:
        """After a successful unlock. Best effort: on a full disk the counter stays (safe)."""
        if self.count == 0 and not self.damaged:
            return
        with contextlib.suppress(StoreError, OSError):
            self._write(database, 0, time_now())


def time_now() -> float:
    return time.time()
