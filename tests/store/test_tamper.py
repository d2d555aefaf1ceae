"""Someone with the key edits, deletes or reorders audit entries: verify says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgemed.store import Store

from .conftest import make_record


@pytest.fixture
def busy_log(store: Store) -> Store:
    """A log with 12 audit entries: create, add-user, 8 saves, a correction, a purge."""
    saved = [store.save_encounter(make_record(f"T{n}")) for n in range(8)]
    store.correct_encounter(saved[2].encounter_id, make_record("T2b"), reason="wrong age")
    store.purge(365)
    # Tampering needs the append-only guards gone; an attacker with the key can drop them.
    for trigger in ("audit_no_update", "audit_no_delete", "encounters_append_only"):
        store.db.execute(f"DROP TRIGGER {trigger}")
    # ... which verify names on its own: the schema is no longer what edgemed created.
    problems = store.verify_audit().problems
    assert [p.kind for p in problems] == ["schema"] * 3
    assert all("trigger" in p.message for p in problems)
    return store


def _problems(store: Store) -> list[tuple[str, int]]:
    """Every problem but the dropped guards (the fixture checks those)."""
    return [(p.kind, p.seq) for p in store.verify_audit().problems if p.kind != "schema"]


def test_the_guards_refuse_ordinary_updates(store: Store) -> None:
    store.save_encounter(make_record("G"))
    for statement in (
        "UPDATE audit SET user = 'x'",
        "DELETE FROM audit",
        "UPDATE encounters SET category = 'green'",
    ):
        with pytest.raises(Exception, match="append-only"):
            store.db.execute(statement)


def test_an_edited_entry_is_named(busy_log: Store) -> None:
    busy_log.db.execute("UPDATE audit SET user = 'mallory' WHERE seq = 5")
    assert _problems(busy_log) == [("edited", 5)]


def test_an_edited_detail_is_named(busy_log: Store) -> None:
    row = busy_log.db.execute("SELECT detail_json FROM audit WHERE seq = 4").fetchone()
    detail = json.loads(row[0])
    detail["category"] = "green"
    busy_log.db.execute("UPDATE audit SET detail_json = ? WHERE seq = 4", [json.dumps(detail)])
    assert ("edited", 4) in _problems(busy_log)


def test_a_deleted_entry_is_named(busy_log: Store) -> None:
    busy_log.db.execute("DELETE FROM audit WHERE seq = 6")
    kinds = _problems(busy_log)
    assert ("deleted", 6) in kinds
    message = busy_log.verify_audit().problems[0].message
    assert "#6" in message


def test_a_deleted_and_renumbered_entry_is_named(busy_log: Store) -> None:
    busy_log.db.execute("DELETE FROM audit WHERE seq = 6")
    busy_log.db.execute("UPDATE audit SET seq = seq - 1 WHERE seq > 6")
    assert ("deleted", 6) in _problems(busy_log)


def test_reordered_entries_are_named(busy_log: Store) -> None:
    busy_log.db.execute("UPDATE audit SET seq = -1 WHERE seq = 7")
    busy_log.db.execute("UPDATE audit SET seq = 7 WHERE seq = 8")
    busy_log.db.execute("UPDATE audit SET seq = 8 WHERE seq = -1")
    problems = _problems(busy_log)
    assert ("reordered", 7) in problems or ("reordered", 8) in problems
    assert not any(kind == "edited" for kind, _ in problems)


def test_entries_cut_from_the_end_are_named(busy_log: Store) -> None:
    last = busy_log.db.execute("SELECT max(seq) FROM audit").fetchone()[0]
    busy_log.db.execute("DELETE FROM audit WHERE seq >= ?", [last - 1])
    problems = _problems(busy_log)
    assert problems[0] == ("truncated", last - 1)
    # The cut entries included the correction's: that version is now unaccounted for too.
    assert problems[1:] == [("encounter-changed", 0)]


def test_an_edited_encounter_is_named(busy_log: Store) -> None:
    row = busy_log.db.execute("SELECT row_id, record_json FROM encounters LIMIT 1").fetchone()
    record = json.loads(row[1])
    record["decision"]["category"] = "green"
    busy_log.db.execute(
        "UPDATE encounters SET record_json = ? WHERE row_id = ?", [json.dumps(record), row[0]]
    )
    assert [kind for kind, _ in _problems(busy_log)] == ["encounter-changed"]


def test_a_deleted_encounter_is_named(busy_log: Store) -> None:
    busy_log.db.execute(
        "DELETE FROM encounters WHERE row_id = (SELECT min(row_id) FROM encounters)"
    )
    assert [kind for kind, _ in _problems(busy_log)] == ["encounter-deleted"]


def test_a_purge_is_audited_and_keeps_the_chain_whole(store: Store) -> None:
    from .conftest import days_ago

    old = store.save_encounter(make_record("OLD", arrived_at=days_ago(40), decided_at=days_ago(40)))
    new = store.save_encounter(make_record("NEW"))
    assert store.purge(30) == 1
    assert [e.encounter_id for e in store.list_encounters()] == [new.encounter_id]
    purge = store.audit_entries(1)[0]
    assert purge["action"] == "purge"
    detail = json.loads(
        store.db.execute("SELECT detail_json FROM audit ORDER BY seq DESC").fetchone()[0]
    )
    assert detail["encounters"] == [old.encounter_id] and detail["older_than_days"] == 30
    assert store.verify_audit().ok


def test_cli_verify_names_the_entry(
    busy_log: Store,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from edgemed.cli import main

    busy_log.db.execute("UPDATE audit SET subject = 'someone else' WHERE seq = 3")
    busy_log.close()
    monkeypatch.setenv("EDGEMED_USER", "amina")
    monkeypatch.setenv("EDGEMED_PASSPHRASE", "correct horse battery staple")
    with pytest.raises(SystemExit) as exited:
        main(["logs", "verify", "--db", str(db_path)])
    assert exited.value.code == 1
    out = capsys.readouterr()
    assert "Audit entry #3 was changed" in out.out
    assert "FAILED verification" in out.err
