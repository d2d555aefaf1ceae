"""Who made a bundle or a model manifest: Ed25519 signatures checked against a pinned key.

Standard library only at import time: the installer uses this module on a blank device, out of
the wheel on the stick. Verification uses ``cryptography`` when it is importable and the pure
Python verifier (:mod:`edgemed.bundle.ed25519`) otherwise; signing and key generation need
``cryptography`` and live in :mod:`edgemed.bundle.keys` (the deployer's machine only).

Formats, chosen so that a technician can check a stick with the device's own ``openssl`` before
running anything from it (docs/deploy.md):

- public key: PEM ``SubjectPublicKeyInfo`` (``-----BEGIN PUBLIC KEY-----``), what
  ``openssl pkey -pubout`` writes and ``openssl pkeyutl -verify -pubin`` reads;
- signature: the 64 raw bytes of the Ed25519 signature of the signed file, in ``<file>.sig``
  (``openssl pkeyutl -verify -rawin -in FILE -sigfile FILE.sig``).

A signature proves who made a file only against a key that did *not* come with the file: the key
is pinned on the device (given by flag, or the file a previous install pinned), never read from
the stick being checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from edgemed.bundle import ed25519
from edgemed.errors import EdgemedError, InputError
from edgemed.i18n import _

SIGNATURE_SUFFIX = ".sig"
# DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, AlgorithmIdentifier
# 1.3.101.112, BIT STRING of 32 bytes.
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_PEM_BEGIN = "-----BEGIN PUBLIC KEY-----"
_PEM_END = "-----END PUBLIC KEY-----"
_MAX_KEY_FILE = 4096


class SignatureError(EdgemedError):
    """A signature that is missing, malformed, or not made by the pinned key."""


def key_id(public_key: bytes) -> str:
    """A short name for a public key, to print and compare by eye: 16 hex digits of its sha256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def public_key_pem(public_key: bytes) -> str:
    body = base64.b64encode(_SPKI_PREFIX + public_key).decode("ascii")
    return f"{_PEM_BEGIN}\n{body}\n{_PEM_END}\n"


def parse_public_key(text: str, where: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key in PEM (or as 64 hex digits)."""
    stripped = text.strip()
    if len(stripped) == 64:
        try:
            return bytes.fromhex(stripped)
        except ValueError:
            pass
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    if len(lines) >= 3 and lines[0] == _PEM_BEGIN and lines[-1] == _PEM_END:
        try:
            der = base64.b64decode("".join(lines[1:-1]), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if len(der) == len(_SPKI_PREFIX) + 32 and der.startswith(_SPKI_PREFIX):
            return der[len(_SPKI_PREFIX) :]
    raise InputError(
        _("{file} is not an Ed25519 public key (PEM, as `edgemed bundle keygen` writes).").format(
            file=where
        ),
        hint=_("Use the deployer.pub written next to the deployer's private key."),
    )


def read_public_key(path: Path) -> bytes:
    try:
        with Path(path).open("rb") as stream:
            raw = stream.read(_MAX_KEY_FILE + 1)
    except OSError as error:
        raise InputError(
            _("The deployer key {file} cannot be read: {error}").format(
                file=path, error=error.strerror
            )
        ) from None
    if len(raw) > _MAX_KEY_FILE:
        raise InputError(_("{file} is too large to be a public key.").format(file=path))
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    return parse_public_key(text, str(path))


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True only if ``signature`` is ``public_key``'s Ed25519 signature of ``message``."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:  # a blank device: the installer runs with the standard library only
        return ed25519.verify(public_key, message, signature)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def signature_file(signed: Path) -> Path:
    return signed.with_name(signed.name + SIGNATURE_SUFFIX)


def check_signature(signed_name: str, message: bytes, signature: bytes | None, key: bytes) -> None:
    """Raise :class:`SignatureError` unless ``signature`` is the pinned key's, over ``message``."""
    if signature is None:
        raise SignatureError(
            _(
                "{file} is not signed ({sig} is missing): who made it cannot be checked, so it "
                "is refused."
            ).format(file=signed_name, sig=signed_name + SIGNATURE_SUFFIX),
            hint=_(
                "Ask the deployer for a signed one (`edgemed bundle build` signs with the "
                "deployer key)."
            ),
        )
    if not verify(key, message, signature):
        raise SignatureError(
            _(
                "{file} does not carry a valid signature of the deployer key {key}: it was "
                "changed after it was signed, or signed by someone else. Refused."
            ).format(file=signed_name, key=key_id(key)),
            hint=_(
                "Copy it again from the deployer, and check that the deployer key pinned on this "
                "device is the right one."
            ),
        )


__all__ = [
    "SIGNATURE_SUFFIX",
    "SignatureError",
    "check_signature",
    "key_id",
    "parse_public_key",
    "public_key_pem",
    "read_public_key",
    "signature_file",
    "verify",
]
