"""Failed unlock attempts, counted outside the encrypted log (which a wrong key cannot open).

The counter is kept per log, not per account, so guessing across user names gains nothing. After a
few free attempts (typos happen), each further try must wait twice as long as the last, up to a
cap; a successful unlock resets the counter and writes the count into the audit log.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from edgemed.store.keyring import atomic_write


@dataclass(frozen=True)
class AttemptPolicy:
    """How long to make a guesser wait: ``base_s * 2**(failures - free)``, at most ``cap_s``."""

    free_attempts: int = 3
    base_s: float = 2.0
    cap_s: float = 300.0

    def delay_after(self, failures: int) -> float:
        if failures < self.free_attempts:
            return 0.0
        return float(min(self.cap_s, self.base_s * 2 ** (failures - self.free_attempts)))


@dataclass(frozen=True)
class FailedAttempts:
    count: int = 0
    last_failure: float = 0.0

    @staticmethod
    def path_for(database: Path) -> Path:
        return database.with_name(database.name + ".attempts")

    @classmethod
    def load(cls, database: Path) -> FailedAttempts:
        path = cls.path_for(database)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(int(raw["count"]), float(raw["last_failure"]))
        except FileNotFoundError:
            return cls()
        except (ValueError, KeyError, TypeError):
            # A damaged counter must not lock nurses out, nor reset to zero for a guesser:
            # treat it as one past the free attempts.
            return cls(AttemptPolicy().free_attempts, time.time())

    def wait_needed(self, policy: AttemptPolicy, now: float) -> float:
        return max(0.0, self.last_failure + policy.delay_after(self.count) - now)

    def record_failure(self, database: Path, now: float) -> FailedAttempts:
        updated = FailedAttempts(self.count + 1, now)
        body = json.dumps({"count": updated.count, "last_failure": updated.last_failure})
        atomic_write(self.path_for(database), body.encode())
        return updated

    @classmethod
    def reset(cls, database: Path) -> None:
        path = cls.path_for(database)
        if path.exists():
            path.unlink()
