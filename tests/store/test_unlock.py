"""Accounts, wrapped keys and wrong passphrases."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from edgemed.store import (
    CorruptLog,
    LogExists,
    LogMissing,
    Store,
    UnlockDelayed,
    WrongPassphrase,
    write_backup,
)
from edgemed.store.attempts import FailedAttempts
from edgemed.store.keyring import Keyring

from .conftest import CHEAP_KDF, PASSPHRASE, QUICK_POLICY, USER, make_record


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


def test_wrong_passphrase_is_refused_counted_and_changes_nothing(
    store: Store, db_path: Path
) -> None:
    store.save_encounter(make_record("W1"))
    store.close()
    before = _digest(db_path.parent)

    locked = Store.open(db_path, policy=QUICK_POLICY)
    with pytest.raises(WrongPassphrase) as first:
        locked.unlock(USER, "wrong")
    assert first.value.failed_attempts == 1
    assert "Wrong user name or passphrase" in first.value.message

    after = _digest(db_path.parent)
    # Only the attempts counter (and its MAC key) beside the log is new; the log and its
    # keyring are untouched.
    assert {k: v for k, v in after.items() if ".attempts" not in k} == before
    assert FailedAttempts.load(db_path).count == 1


def test_unknown_user_reads_like_a_wrong_passphrase(store: Store, db_path: Path) -> None:
    store.close()
    with pytest.raises(WrongPassphrase):
        Store.open(db_path, policy=QUICK_POLICY).unlock("nobody", PASSPHRASE)


def test_failed_attempts_make_the_next_try_wait_longer(store: Store, db_path: Path) -> None:
    store.close()
    locked = Store.open(db_path, policy=QUICK_POLICY)
    for _ in range(QUICK_POLICY.free_attempts):
        with pytest.raises(WrongPassphrase):
            locked.unlock(USER, "wrong", wait=False)
    # Past the free attempts: an immediate retry is refused without even checking.
    with pytest.raises(UnlockDelayed) as delayed:
        locked.unlock(USER, PASSPHRASE, wait=False)
    assert 0 < delayed.value.wait_s <= QUICK_POLICY.base_s
    time.sleep(delayed.value.wait_s)
    with pytest.raises(WrongPassphrase) as third:
        locked.unlock(USER, "wrong", wait=False)
    assert third.value.retry_after_s == pytest.approx(2 * QUICK_POLICY.base_s)
    assert QUICK_POLICY.delay_after(50) == QUICK_POLICY.cap_s

    # wait=True sleeps out the delay, then unlocks; the count goes into the audit log.
    started = time.monotonic()
    locked.unlock(USER, PASSPHRASE)
    assert time.monotonic() - started >= third.value.retry_after_s * 0.9
    last = locked.audit_entries(1)[0]
    assert last["action"] == "unlock"
    detail = locked.db.execute("SELECT detail_json FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    assert json.loads(detail[0]) == {"failed_attempts_before": 3}
    assert FailedAttempts.load(db_path).count == 0
    locked.close()


def test_several_accounts_unlock_the_same_log(store: Store, db_path: Path) -> None:
    saved = store.save_encounter(make_record("M1"))
    store.add_user("juma", "juma's own passphrase", kdf=CHEAP_KDF)
    with pytest.raises(LogExists):
        store.add_user("juma", "again", kdf=CHEAP_KDF)
    store.close()
    other = Store.open(db_path)
    other.unlock("juma", "juma's own passphrase")
    assert other.get(saved.encounter_id).record.complaint.endswith("M1")
    assert other.users == ["amina", "juma"]
    other.close()


def test_changing_a_passphrase_rewraps_and_never_reencrypts(store: Store, db_path: Path) -> None:
    saved = store.save_encounter(make_record("P1"))
    data_key = store.data_key
    old_entry = store.keyring.entry(USER)
    store.change_passphrase(USER, PASSPHRASE, "a brand new passphrase")
    assert store.keyring.entry(USER).salt != old_entry.salt
    store.close()

    reopened = Store.open(db_path)
    with pytest.raises(WrongPassphrase):
        reopened.unlock(USER, PASSPHRASE)
    reopened.unlock(USER, "a brand new passphrase")
    assert reopened.data_key == data_key  # same data key: the database was not re-encrypted
    assert reopened.get(saved.encounter_id).version == 1
    actions = [e["action"] for e in reopened.audit_entries(10)]
    assert "passwd" in actions
    reopened.close()


def test_the_data_key_is_never_written_in_plain(store: Store, db_path: Path) -> None:
    store.save_encounter(make_record("K1"))
    key = store.data_key
    write_backup(store, db_path.parent / "copy.backup", "backup words", kdf=CHEAP_KDF)
    for path in db_path.parent.iterdir():
        blob = path.read_bytes()
        for form in (key, key.hex().encode(), key.hex().upper().encode()):
            assert form not in blob, path.name


def test_the_argon2id_cost_is_recorded_with_each_wrapped_key(store: Store, db_path: Path) -> None:
    raw = json.loads(Keyring.path_for(db_path).read_text())
    (account,) = raw["accounts"]
    assert account["kdf"] == {
        "algorithm": "argon2id",
        "memory_kib": 1024,
        "time_cost": 1,
        "parallelism": 1,
    }


def test_default_kdf_is_the_pi_setting() -> None:
    from edgemed.store import Argon2Params

    assert Argon2Params() == Argon2Params(memory_kib=65536, time_cost=3, parallelism=4)


def test_creating_over_an_existing_log_is_refused(store: Store, db_path: Path) -> None:
    with pytest.raises(LogExists):
        Store.create(db_path, USER, PASSPHRASE, kdf=CHEAP_KDF)


def test_opening_a_missing_log_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(LogMissing) as missing:
        Store.open(tmp_path / "nothing.db")
    assert "edgemed logs init" in (missing.value.hint or "")


def test_a_keyring_from_another_log_is_caught_by_the_canary(tmp_path: Path) -> None:
    a = Store.create(tmp_path / "a.db", USER, PASSPHRASE, kdf=CHEAP_KDF)
    b = Store.create(tmp_path / "b.db", USER, PASSPHRASE, kdf=CHEAP_KDF)
    a.close()
    b.close()
    # b's keyring next to a's database: the key unwraps fine but does not open this file.
    Keyring.path_for(tmp_path / "a.db").write_bytes(
        Keyring.path_for(tmp_path / "b.db").read_bytes()
    )
    with pytest.raises(CorruptLog):
        Store.open(tmp_path / "a.db").unlock(USER, PASSPHRASE)
