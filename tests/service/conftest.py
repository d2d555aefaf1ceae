"""A real session on a real encrypted log, with a cheap Argon2 cost so tests stay fast."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edgemed.i18n import set_language
from edgemed.service import Session

CHEAP_KEYS = {"memory_kib": 1024, "time_cost": 1, "parallelism": 1}
USER, PASSPHRASE = "amina", "correct horse battery"


@pytest.fixture(autouse=True)
def _source_language_after() -> Iterator[None]:
    # The language is process-wide (the app switches it at runtime): put it back.
    yield
    set_language("en")


@pytest.fixture
def session() -> Iterator[Session]:
    s = Session(key_cost=CHEAP_KEYS)
    s.setup(
        language="en",
        clinic_name="Kibera clinic",
        user=USER,
        passphrase=PASSPHRASE,
        passphrase_again=PASSPHRASE,
        model_id=None,
    )
    yield s
    s.close()
