"""Saving, correcting, finding and drafting encounters; backups."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from edgemed.store import (
    BadBackup,
    LogExists,
    OutputRefused,
    PlaintextRefused,
    Store,
    UnknownEncounter,
    WrongPassphrase,
    restore_backup,
    write_backup,
)

from .conftest import CHEAP_KDF, PASSPHRASE, USER, make_record


def test_a_saved_encounter_reads_back_whole(store: Store) -> None:
    record = make_record("R1")
    saved = store.save_encounter(record)
    found = store.get(saved.encounter_id)
    assert found.version == 1 and found.saved_by == USER
    assert found.record == record.with_user(USER)
    assert found.record.findings.proposed[0]["source"] == "model"
    assert found.record.model_sha256 == record.model_sha256
    assert found.category == "yellow"


def test_a_correction_is_a_new_version_and_nothing_is_overwritten(store: Store) -> None:
    first = store.save_encounter(make_record("V1", category="yellow"))
    second = store.correct_encounter(
        first.encounter_id[:6], make_record("V2", category="red", target=0), reason="missed stridor"
    )
    assert (second.encounter_id, second.version) == (first.encounter_id, 2)
    versions = store.history(first.encounter_id)
    assert [(v.version, v.category) for v in versions] == [(1, "yellow"), (2, "red")]
    assert versions[1].correction_reason == "missed stridor"
    assert store.get(first.encounter_id, 1).record_sha256 == first.record_sha256
    assert [e.version for e in store.list_encounters()] == [2]


def test_unknown_and_ambiguous_ids(store: Store) -> None:
    with pytest.raises(UnknownEncounter):
        store.get("ffffffffff")
    saved = store.save_encounter(make_record("A"))
    with pytest.raises(UnknownEncounter):
        store.get(saved.encounter_id, 7)
    for _ in range(40):  # with 41 ids, some share a first hex digit
        store.save_encounter(make_record("B"))
    with pytest.raises(UnknownEncounter, match="More than one"):
        store.get("")


def test_search_by_name_number_and_complaint(store: Store) -> None:
    store.save_encounter(
        make_record("", patient={"clinic_number": "K-88", "name": "Baraka Otieno"})
    )
    store.save_encounter(
        make_record(
            "",
            patient={"clinic_number": "K-99", "name": "Neema Ali"},
            complaint="burn on the left hand",
        )
    )
    assert [e.record.patient["name"] for e in store.list_encounters(search="otie")] == [
        "Baraka Otieno"
    ]
    assert [e.record.patient["name"] for e in store.list_encounters(search="burn hand")] == [
        "Neema Ali"
    ]
    assert len(store.list_encounters(search='K-99 "; DROP TABLE')) == 0
    assert store.list_encounters(search="nobody") == []


def test_todays_queue_is_most_urgent_first(store: Store) -> None:
    now = datetime.now().astimezone()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    early = start + timedelta(minutes=1)
    store.save_encounter(make_record("G", category="green", target=240, arrived_at=early))
    store.save_encounter(
        make_record("Y", category="yellow", target=60, arrived_at=early + timedelta(seconds=1))
    )
    orange = store.save_encounter(
        make_record("O", category="orange", target=10, arrived_at=early + timedelta(seconds=2))
    )
    store.save_encounter(
        make_record("OLD", category="red", target=0, arrived_at=start - timedelta(hours=2))
    )
    store.correct_encounter(
        orange.encounter_id,
        make_record("O2", category="red", target=0, arrived_at=early + timedelta(seconds=2)),
        reason="x",
    )
    assert [e.category for e in store.queue()] == ["red", "yellow", "green"]
    assert [e.category for e in store.queue((start - timedelta(hours=2)).date())] == ["red"]
    # Since midnight: today's three (the orange as corrected to red), not last night's red (this
    # compared with "24 h ago + 1 h" once, which failed every day after 23:00).
    today = store.list_encounters(since=start)
    assert sorted(e.category for e in today) == ["green", "red", "yellow"]


def test_drafts_survive_closing_and_can_be_discarded(store: Store, db_path: Path) -> None:
    store.save_draft("bed-3", {"complaint": "chest pain", "vitals": {"heart_rate": 120}})
    store.save_draft("bed-3", {"complaint": "chest pain since noon", "vitals": {"heart_rate": 120}})
    store.close()
    again = Store.open(db_path)
    again.unlock(USER, PASSPHRASE)
    assert again.load_draft("bed-3") == {
        "complaint": "chest pain since noon",
        "vitals": {"heart_rate": 120},
    }
    assert again.list_drafts() == ["bed-3"]
    again.discard_draft("bed-3")
    assert again.load_draft("bed-3") is None
    again.close()


def test_exports_need_the_explicit_plaintext_choice(store: Store) -> None:
    store.save_encounter(make_record("E"))
    with pytest.raises(PlaintextRefused):
        store.export_csv(io.StringIO())
    with pytest.raises(PlaintextRefused):
        store.export_fhir()
    out = io.StringIO()
    assert store.export_csv(out, plaintext=True) == 1
    assert "fever with fast breathing E" in out.getvalue()
    assert [e["action"] for e in store.audit_entries(1)] == ["export"]


def test_backup_and_restore_round_trip(store: Store, tmp_path: Path) -> None:
    saved = [store.save_encounter(make_record(f"B{n}")) for n in range(5)]
    backup = write_backup(store, tmp_path / "friday.backup", "backup words", kdf=CHEAP_KDF)
    with pytest.raises(OutputRefused):
        write_backup(store, backup, "backup words", kdf=CHEAP_KDF)
    with pytest.raises(WrongPassphrase):
        restore_backup(
            backup,
            "not it",
            dest=tmp_path / "r.db",
            user="juma",
            passphrase="juma passphrase",
            kdf=CHEAP_KDF,
        )
    with pytest.raises(LogExists):
        restore_backup(
            backup,
            "backup words",
            dest=store.path,
            user="juma",
            passphrase="juma passphrase",
            kdf=CHEAP_KDF,
        )
    restored = restore_backup(
        backup,
        "backup words",
        dest=tmp_path / "r.db",
        user="juma",
        passphrase="juma passphrase",
        kdf=CHEAP_KDF,
    )
    assert restored.data_key != store.data_key  # the backup has its own key
    for one in saved:
        assert restored.get(one.encounter_id).record_sha256 == one.record_sha256
    assert restored.verify_audit().ok
    assert restored.audit_entries(1)[0]["action"] == "restore"
    restored.close()

    damaged = tmp_path / "damaged.backup"
    blob = bytearray(backup.read_bytes())
    blob[-100] ^= 0xFF
    damaged.write_bytes(bytes(blob))
    with pytest.raises(BadBackup):
        restore_backup(
            damaged,
            "backup words",
            dest=tmp_path / "d.db",
            user="juma",
            passphrase="juma passphrase",
            kdf=CHEAP_KDF,
        )
    (tmp_path / "junk.backup").write_text("hello")
    with pytest.raises(BadBackup):
        restore_backup(
            tmp_path / "junk.backup",
            "x",
            dest=tmp_path / "j.db",
            user="juma",
            passphrase="juma passphrase",
        )


@pytest.mark.parametrize(
    ("typed", "finds"),
    [
        ('"', "nothing"),  # no word to look for: nothing is found, and nothing fails
        ("'", "nothing"),
        ("-", "nothing"),
        ("()", "nothing"),
        ("   ", "both"),  # blank: no search at all
        ("AND OR NOT", "typed"),  # words, never FTS operators ("and" is in the other record)
        ("NEAR(a b)", "typed"),
        ("col:val", "typed"),  # never a column filter
        ("ñandú 日本", "typed"),
        ("x" * 500, "typed"),
        ("a*", "both"),  # every word is a prefix: "a" starts "and" in the other record
    ],
)
def test_whatever_a_nurse_types_in_search_is_safe(store: Store, typed: str, finds: str) -> None:
    """Typed text is searched for as words, whatever FTS syntax it holds, and never fails."""
    other = store.save_encounter(make_record("S")).encounter_id
    holding = store.save_encounter(replace(make_record("T"), complaint=f"pain {typed}"))
    found = {e.encounter_id for e in store.list_encounters(search=typed)}
    expected = {
        "nothing": set(),
        "typed": {holding.encounter_id},
        "both": {holding.encounter_id, other},
    }[finds]
    assert found == expected


def test_bad_order_and_bad_purge_are_input_errors(store: Store) -> None:
    from edgemed.errors import InputError

    with pytest.raises(InputError):
        store.list_encounters(order="alphabetical")
    with pytest.raises(InputError):
        store.purge(0)


def test_change_passphrase_needs_the_old_one(store: Store) -> None:
    with pytest.raises(WrongPassphrase) as wrong:
        store.change_passphrase(USER, "not the old one", "new")
    assert wrong.value.hint is None  # not a counted unlock attempt
