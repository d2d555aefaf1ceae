"""The one passphrase policy, for the CLI (``logs init``, ``passwd``, ``add-user``, ``restore``)
and the app's first run alike: at least 8 characters, and not one of the most common passwords
(an offline list shipped with edgemed, ``data/common-passwords.txt``).

Argon2id makes each guess slow; this only makes sure the first guesses an attacker would try are
not the right ones. It is deliberately not a complexity rule: a few ordinary words are fine.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from edgemed.store.errors import WeakPassphrase

MIN_LENGTH = 8


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("edgemed.store").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_passphrase(passphrase: str) -> None:
    """Raise :class:`WeakPassphrase` (an ``InputError``) unless ``passphrase`` may be used."""
    if len(passphrase) < MIN_LENGTH:
        raise WeakPassphrase.too_short()
    folded = passphrase.strip().lower()
    if folded in common_passwords() or len(set(folded)) == 1:
        raise WeakPassphrase.too_common()
