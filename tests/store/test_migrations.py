"""The schema grows through ordered, named migrations recorded in the log itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgemed.store import Store, database

from .conftest import CHEAP_KDF, PASSPHRASE, USER, make_record


def test_a_new_log_records_every_migration_in_order(store: Store) -> None:
    assert store.migrations() == [m.name for m in database.MIGRATIONS]
    rows = list(store.db.query("SELECT seq, name, applied_at FROM _migrations ORDER BY seq"))
    assert [r["seq"] for r in rows] == list(range(1, len(database.MIGRATIONS) + 1))
    assert all(r["applied_at"] for r in rows)


def test_reopening_applies_nothing_twice(store: Store, db_path: Path) -> None:
    store.close()
    again = Store.open(db_path)
    again.unlock(USER, PASSPHRASE)
    assert database.migrate(again.db) == []
    assert "migrate" not in [e["action"] for e in again.audit_entries(50)]
    again.close()


def test_an_older_log_is_migrated_on_unlock_and_audited(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A log made by an older edgemed that knew only the first three migrations.
    monkeypatch.setattr(database, "MIGRATIONS", database.MIGRATIONS[:3])
    old = Store.create(db_path, USER, PASSPHRASE, kdf=CHEAP_KDF)
    saved = old.save_encounter(make_record("OLDSCHEMA"))
    assert "encounters_fts" not in old.db.table_names()
    old.close()
    monkeypatch.undo()

    new = Store.open(db_path)
    new.unlock(USER, PASSPHRASE)
    assert new.migrations()[-1] == database.MIGRATIONS[-1].name
    actions = [e["action"] for e in new.audit_entries(3)]
    assert actions[:2] == ["unlock", "migrate"]
    # The new search index covers what was saved before the migration.
    assert [e.encounter_id for e in new.list_encounters(search="oldschema")] == [saved.encounter_id]
    assert new.verify_audit().ok
    new.close()
