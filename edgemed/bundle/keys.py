"""The deployer key: made once, kept private (0600), used to sign bundles and model manifests.

Needs ``cryptography`` (the deployer's machine); devices only verify (:mod:`.signing`).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgemed.bundle.signing import key_id, public_key_pem, signature_file
from edgemed.errors import EdgemedError, InputError
from edgemed.files import write_atomic
from edgemed.i18n import _

PRIVATE_NAME = "deployer.key"
PUBLIC_NAME = "deployer.pub"
_MAX_KEY_FILE = 16384


@dataclass(frozen=True)
class DeployerKey:
    private: Ed25519PrivateKey
    path: Path

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def sign_file(self, path: Path) -> Path:
        """Write ``<path>.sig`` (64 raw bytes) for the file as it is now; returns its path."""
        target = signature_file(path)
        target.write_bytes(self.sign(path.read_bytes()))
        return target


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # Never over another key (that would orphan every signed bundle), never half a key.
    write_atomic(path, data, mode=mode, replace=False)


def generate(directory: Path) -> DeployerKey:
    """Make ``deployer.key`` (0600) and ``deployer.pub`` in ``directory``; never overwrite."""
    directory = Path(directory)
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise InputError(
                _("{file} already exists; a deployer key is never overwritten.").format(file=path),
                hint=_("Every device pinned the old key: keep using it, or choose another folder."),
            )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        _write_new(private_path, pem, 0o600)
        key = DeployerKey(private, private_path)
        _write_new(public_path, public_key_pem(key.public).encode("ascii"), 0o644)
    except OSError as error:
        private_path.unlink(missing_ok=True)
        raise EdgemedError(
            _("Could not write the deployer key in {directory}: {error}").format(
                directory=directory, error=error.strerror
            )
        ) from None
    return key


def load(path: Path) -> DeployerKey:
    """Read a deployer private key; refuse one that other accounts can read."""
    path = Path(path)
    try:
        info = path.stat()
        with path.open("rb") as stream:
            data = stream.read(_MAX_KEY_FILE + 1)
    except OSError as error:
        raise InputError(
            _("The deployer key {file} cannot be read: {error}").format(
                file=path, error=error.strerror
            ),
            hint=_("Make one with `edgemed bundle keygen`."),
        ) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            _("{file} can be read by other accounts (mode {mode:o}): it is refused.").format(
                file=path, mode=stat.S_IMODE(info.st_mode)
            ),
            hint=_("chmod 600 {file} (and consider the key leaked if others had access).").format(
                file=path
            ),
        )
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        private = None
    if not isinstance(private, Ed25519PrivateKey):
        raise InputError(
            _("{file} is not an Ed25519 private key.").format(file=path),
            hint=_("Make one with `edgemed bundle keygen`."),
        )
    return DeployerKey(private, path)


__all__ = ["PRIVATE_NAME", "PUBLIC_NAME", "DeployerKey", "generate", "load"]
