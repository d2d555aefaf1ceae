"""The app on a real encrypted log (cheap Argon2 cost), driven by Textual's pilot."""

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


def ready_session(language: str = "en", model_id: str | None = None) -> Session:
    """A session whose first-run set-up is done and whose log is locked again."""
    session = Session(key_cost=CHEAP_KEYS)
    session.setup(
        language=language,
        clinic_name="Kibera",
        user=USER,
        passphrase=PASSPHRASE,
        passphrase_again=PASSPHRASE,
        model_id=model_id,
    )
    session.lock()
    return session
