"""Real SQLCipher logs in a temporary data dir, with a cheap Argon2id cost passed explicitly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from edgemed.store import Argon2Params, AttemptPolicy, EncounterRecord, Findings, Store

# Tests pass this on purpose: the default (64 MiB, t=3, p=4) is for real accounts.
CHEAP_KDF = Argon2Params(memory_kib=1024, time_cost=1, parallelism=1)
QUICK_POLICY = AttemptPolicy(free_attempts=2, base_s=0.2, cap_s=1.0)
USER, PASSPHRASE = "amina", "correct horse battery staple"


def make_record(
    marker: str = "", *, category: str = "yellow", target: int = 60, **kw: object
) -> EncounterRecord:
    """An encounter whose every free-text field carries ``marker``."""
    fields: dict[str, object] = {
        "patient": {
            "clinic_number": f"C{marker}-17",
            "name": f"Zawadi {marker}",
            "sex": "female",
            "age_years": 4,
        },
        "complaint": f"fever and cough for three days {marker}",
        "decision": {
            "category": category,
            "target_minutes": target,
            "reasons": [f"fever with fast breathing {marker}"],
            "warnings": [],
            "protocol_id": "sats-2012",
            "protocol_version": "1.0",
            "protocol_sha256": "ab" * 32,
        },
        "findings": Findings(
            confirmed=({"code": "fever", "label": f"Fever {marker}", "source": "nurse"},),
            proposed=(
                {
                    "code": "convulsion",
                    "label": "Convulsion",
                    "source": "model",
                    "evidence": marker,
                },
            ),
            rejected=({"code": "rash", "label": "Rash"},),
        ),
        "vitals": {
            "heart_rate": 130,
            "respiratory_rate": 44,
            "temperature_c": 39.2,
            "spo2": 93,
            "avpu": "A",
        },
        "handover_note": f"Child with fever, fast breathing {marker}",
        "model_id": "smollm2-135m-q4_1",
        "model_sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    }
    fields.update(kw)
    return EncounterRecord(**fields)  # type: ignore[arg-type]


def days_ago(days: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "encounters.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    opened = Store.create(db_path, USER, PASSPHRASE, kdf=CHEAP_KDF, policy=QUICK_POLICY)
    yield opened
    opened.close()
