"""Who can unlock the log: each account's passphrase wraps the one random data key.

The database is encrypted with a random 256-bit data key that is never written in plain. Each
nurse account keeps a *wrapped* copy of it in the keyring file beside the database
(``encounters.db.keyring``): Argon2id turns the passphrase and a fresh random salt into 64 bytes;
the first 32 are a one-time pad for the data key (a new salt at every wrap means a pad is never
reused), the last 32 key an HMAC-SHA256 over everything in the entry. A wrong passphrase fails the
HMAC check, so it is told apart from a damaged database before the database is even opened.
Changing a passphrase rewraps the same data key: the database itself is never re-encrypted.

The Argon2id parameters are recorded with each wrapped key, so a laptop and a Raspberry Pi can
each use their own cost, and raising the default later keeps old entries working.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw

from edgemed.files import PRIVATE_FILE, write_atomic
from edgemed.i18n import _
from edgemed.store.errors import CorruptLog, UnknownUser, store_errors

KEYRING_FORMAT = "edgemed-keyring/1"
DATA_KEY_BYTES = 32
FILE_MODE = PRIVATE_FILE

# What a keyring may ask Argon2id for. A keyring is a file anyone with write access can edit:
# parallelism 0 used to crash unlock, and an absurd memory cost would exhaust the machine.
MAX_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB
MAX_TIME_COST = 64
MAX_PARALLELISM = 64
_HEX = re.compile(r"^[0-9a-f]*$")


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost. The default is meant for a 4 GB Raspberry Pi 4.

    64 MiB, three passes, four lanes is RFC 9106's second recommended Argon2id setting; it leaves
    the Pi most of its RAM for the language model, and the four lanes use the Pi's four cores.
    Tests pass cheaper parameters explicitly.
    """

    memory_kib: int = 64 * 1024
    time_cost: int = 3
    parallelism: int = 4

    def problem(self) -> str | None:
        """What is wrong with this cost (English, for the keyring's damage message), or None."""
        values = (self.memory_kib, self.time_cost, self.parallelism)
        if not all(type(v) is int for v in values):
            return "cost values must be whole numbers"
        if not 1 <= self.parallelism <= MAX_PARALLELISM:
            return f"parallelism {self.parallelism} is outside 1..{MAX_PARALLELISM}"
        if not 1 <= self.time_cost <= MAX_TIME_COST:
            return f"time_cost {self.time_cost} is outside 1..{MAX_TIME_COST}"
        if not 8 * self.parallelism <= self.memory_kib <= MAX_MEMORY_KIB:
            return (
                f"memory_kib {self.memory_kib} is outside {8 * self.parallelism}..{MAX_MEMORY_KIB}"
            )
        return None

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        return hash_secret_raw(
            passphrase.encode("utf-8"),
            salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=64,
            type=Type.ID,
        )


@dataclass(frozen=True)
class WrappedKey:
    """One account's copy of the data key, wrapped by a key derived from its passphrase."""

    user: str
    salt: str
    wrapped: str
    mac: str
    kdf: Argon2Params = field(default_factory=Argon2Params)
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kdf"] = {"algorithm": "argon2id", **asdict(self.kdf)}
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> WrappedKey:
        """Parse and check one entry; a bad value raises ValueError naming it."""
        kdf = dict(raw["kdf"])
        if kdf.pop("algorithm", "argon2id") != "argon2id":
            raise ValueError("unknown key derivation")
        if set(kdf) != {"memory_kib", "time_cost", "parallelism"}:
            raise ValueError("the Argon2id cost needs memory_kib, time_cost and parallelism")
        if not all(type(v) is int for v in kdf.values()):
            raise ValueError("the Argon2id cost values must be whole numbers")
        params = Argon2Params(**kdf)
        problem = params.problem()
        if problem:
            raise ValueError(f"the Argon2id cost is not valid: {problem}")
        entry = cls(
            user=str(raw["user"]),
            salt=str(raw["salt"]),
            wrapped=str(raw["wrapped"]),
            mac=str(raw["mac"]),
            kdf=params,
            created_at=str(raw.get("created_at", "")),
        )
        for name, value, length in (
            ("salt", entry.salt, 32),
            ("wrapped", entry.wrapped, 2 * DATA_KEY_BYTES),
            ("mac", entry.mac, 64),
        ):
            if len(value) != length or not _HEX.match(value):
                raise ValueError(f"{name} is not {length} hex digits")
        return entry


def _authenticated_bytes(
    log_id: str, user: str, salt: bytes, kdf: Argon2Params, wrapped: bytes
) -> bytes:
    header = json.dumps(
        {"format": KEYRING_FORMAT, "log": log_id, "user": user, "kdf": asdict(kdf)},
        sort_keys=True,
    ).encode()
    return header + salt + wrapped


def wrap(
    data_key: bytes, log_id: str, user: str, passphrase: str, kdf: Argon2Params, now: str
) -> WrappedKey:
    """Wrap ``data_key`` for ``user`` with a fresh salt."""
    salt = secrets.token_bytes(16)
    derived = kdf.derive(passphrase, salt)
    pad, mac_key = derived[:DATA_KEY_BYTES], derived[DATA_KEY_BYTES:]
    wrapped = bytes(a ^ b for a, b in zip(data_key, pad, strict=True))
    mac = hmac.new(mac_key, _authenticated_bytes(log_id, user, salt, kdf, wrapped), hashlib.sha256)
    return WrappedKey(user, salt.hex(), wrapped.hex(), mac.hexdigest(), kdf, now)


def unwrap(entry: WrappedKey, log_id: str, passphrase: str) -> bytes | None:
    """The data key, or None when the passphrase is wrong (or the entry was altered)."""
    salt, wrapped = bytes.fromhex(entry.salt), bytes.fromhex(entry.wrapped)
    derived = entry.kdf.derive(passphrase, salt)
    pad, mac_key = derived[:DATA_KEY_BYTES], derived[DATA_KEY_BYTES:]
    expected = hmac.new(
        mac_key, _authenticated_bytes(log_id, entry.user, salt, entry.kdf, wrapped), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, entry.mac):
        return None
    return bytes(a ^ b for a, b in zip(wrapped, pad, strict=True))


def head_key(data_key: bytes) -> bytes:
    """The key that authenticates the chain head kept in the keyring (see :class:`ChainHead`)."""
    return hmac.new(data_key, b"edgemed-keyring-head/1", hashlib.sha256).digest()


@dataclass(frozen=True)
class ChainHead:
    """The audit chain's last entry (sequence number = a monotonic counter, and its hash), kept
    OUTSIDE the database too, so that an older copy of the database put back (rollback) or
    entries cut from its end are noticed. MAC'd with a key derived from the data key: someone
    without a passphrase cannot forge it (they can still put back an old keyring with an old
    database: see docs/security.md)."""

    seq: int
    hash: str
    mac: str

    @staticmethod
    def _mac(data_key: bytes, log_id: str, seq: int, digest: str) -> str:
        message = f"{KEYRING_FORMAT}\n{log_id}\n{seq}\n{digest}".encode()
        return hmac.new(head_key(data_key), message, hashlib.sha256).hexdigest()

    @classmethod
    def make(cls, data_key: bytes, log_id: str, seq: int, digest: str) -> ChainHead:
        return cls(seq, digest, cls._mac(data_key, log_id, seq, digest))

    def authentic(self, data_key: bytes, log_id: str) -> bool:
        expected = self._mac(data_key, log_id, self.seq, self.hash)
        return hmac.compare_digest(expected, self.mac)


@dataclass
class Keyring:
    """The keyring file: the log's id, one wrapped key per account, and the chain head."""

    log_id: str
    entries: dict[str, WrappedKey]
    head: ChainHead | None = None

    @staticmethod
    def path_for(database: Path) -> Path:
        return database.with_name(database.name + ".keyring")

    def entry(self, user: str) -> WrappedKey:
        found = self.entries.get(user)
        if found is None:
            raise UnknownUser(_("There is no account named {user}.").format(user=user))
        return found

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "format": KEYRING_FORMAT,
            "log_id": self.log_id,
            "accounts": [e.to_dict() for _, e in sorted(self.entries.items())],
        }
        if self.head is not None:
            body["head"] = asdict(self.head)
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            raw = json.loads(text)
            if raw.get("format") != KEYRING_FORMAT:
                raise ValueError(raw.get("format"))
            entries = [WrappedKey.from_dict(e) for e in raw["accounts"]]
            head = None
            if raw.get("head") is not None:
                found = raw["head"]
                if type(found["seq"]) is not int or found["seq"] < 0:
                    raise ValueError("the chain head's sequence number is not valid")
                head = ChainHead(found["seq"], str(found["hash"]), str(found["mac"]))
            return cls(str(raw["log_id"]), {e.user: e for e in entries}, head)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            detail = str(error) if isinstance(error, ValueError) else type(error).__name__
            raise CorruptLog(_("the keyring file is damaged") + f": {detail}") from error

    @classmethod
    def load(cls, database: Path) -> Keyring:
        path = cls.path_for(database)
        with store_errors():
            text = path.read_text(encoding="utf-8")
        return cls.from_json(text)

    def save(self, database: Path) -> None:
        """Replace the keyring atomically: after a power cut it is the old one or the new one."""
        with store_errors():
            write_atomic(self.path_for(database), self.to_json().encode("utf-8"))


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def log_lock(database: Path) -> Iterator[None]:
    """An exclusive lock on the log's files beside the database (``<db>.lock``, holds nothing).

    Taken around check -> Argon2 -> record of an unlock attempt (so parallel guesses queue up and
    each one is counted) and around every keyring replacement (so two processes never write a
    keyring from stale copies)."""
    with store_errors():
        fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        with store_errors():
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
