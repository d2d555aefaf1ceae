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

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw

from edgemed.i18n import _
from edgemed.store.errors import CorruptLog, UnknownUser, store_errors

KEYRING_FORMAT = "edgemed-keyring/1"
DATA_KEY_BYTES = 32


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
        kdf = dict(raw["kdf"])
        kdf.pop("algorithm", None)
        return cls(
            user=str(raw["user"]),
            salt=str(raw["salt"]),
            wrapped=str(raw["wrapped"]),
            mac=str(raw["mac"]),
            kdf=Argon2Params(**{k: int(v) for k, v in kdf.items()}),
            created_at=str(raw.get("created_at", "")),
        )


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


@dataclass
class Keyring:
    """The keyring file: the log's id and one wrapped key per account."""

    log_id: str
    entries: dict[str, WrappedKey]

    @staticmethod
    def path_for(database: Path) -> Path:
        return database.with_name(database.name + ".keyring")

    def entry(self, user: str) -> WrappedKey:
        found = self.entries.get(user)
        if found is None:
            raise UnknownUser(_("There is no account named {user}.").format(user=user))
        return found

    def to_json(self) -> str:
        body = {
            "format": KEYRING_FORMAT,
            "log_id": self.log_id,
            "accounts": [e.to_dict() for _, e in sorted(self.entries.items())],
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            raw = json.loads(text)
            if raw.get("format") != KEYRING_FORMAT:
                raise ValueError(raw.get("format"))
            entries = [WrappedKey.from_dict(e) for e in raw["accounts"]]
            return cls(str(raw["log_id"]), {e.user: e for e in entries})
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CorruptLog(_("the keyring file is damaged")) from error

    @classmethod
    def load(cls, database: Path) -> Keyring:
        path = cls.path_for(database)
        with store_errors():
            text = path.read_text(encoding="utf-8")
        return cls.from_json(text)

    def save(self, database: Path) -> None:
        """Replace the keyring atomically: after a power cut it is the old one or the new one."""
        atomic_write(self.path_for(database), self.to_json().encode("utf-8"))


def atomic_write(path: Path, data: bytes) -> None:
    """Write, fsync, rename over, fsync the folder: never a half-written file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with store_errors():
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
