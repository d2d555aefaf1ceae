"""Issue 13, part A: what an attacker (or a careless command) did to the log, each as a test that
failed before the hardening. Rows: 1 data loss, 2 rollback, 3 audit, 4 permissions and passphrase
policy, 5 the failed-unlock delay, 6 full disk, 9 crafted backups, 10 keyring costs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from edgemed.cli import main
from edgemed.store import (
    BadBackup,
    CorruptLog,
    DiskFull,
    LogReadOnly,
    Store,
    UnlockDelayed,
    WeakPassphrase,
    WrongPassphrase,
    permission_problems,
    restore_backup,
    write_backup,
)
from edgemed.store.attempts import AttemptPolicy, FailedAttempts
from edgemed.store.database import connect
from edgemed.store.keyring import Keyring

from .conftest import CHEAP_KDF, PASSPHRASE, QUICK_POLICY, USER, days_ago, make_record

SECRET = "s3cret-clinic-phrase"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("EDGEMED_USER", "amina")
    monkeypatch.setenv("EDGEMED_PASSPHRASE", SECRET)
    monkeypatch.setenv("EDGEMED_BACKUP_PASSPHRASE", "backup-phrase")
    old_umask = os.umask(0o022)
    try:
        yield tmp_path
    finally:
        os.umask(old_umask)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["logs", *args])
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


def _cli_log(capsys: pytest.CaptureFixture[str], db: Path, count: int = 2) -> None:
    assert run(capsys, "init", "--db", str(db))[0] == 0
    store = Store.open(db)
    store.unlock("amina", SECRET)
    for n in range(count):
        store.save_encounter(make_record(f"E{n}"))
    store.close()


def _unlocks(db: Path, passphrase: str = SECRET, user: str = "amina") -> bool:
    store = Store.open(db)
    store.unlock(user, passphrase)
    ok = store.verify_audit().ok and len(store.list_encounters()) > 0
    store.close()
    return ok


# --- row 1: an output path never destroys the log -------------------------------------------


def test_export_and_backup_never_overwrite_the_log_or_its_files(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = cli_env / "clinic" / "encounters.db"
    _cli_log(capsys, db)
    for victim in (
        db,
        db.with_name("encounters.db.keyring"),
        db.with_name("encounters.db-wal"),
        db.with_name("encounters.db.attempts"),
        db.parent / ".." / "clinic" / "encounters.db",  # resolved, not compared as text
    ):
        for args in (
            ["export", "--format", "csv", "--plaintext", "--out", str(victim)],
            ["export", "--plaintext", "--out", str(victim), "--force"],
            ["backup", str(victim), "--force"],
        ):
            code, _, err = run(capsys, *args, "--db", str(db))
            assert code == 2, (args, err)
            assert "own files" in err or "already exists" in err
    # A symlink to the keyring is resolved too.
    (cli_env / "link.csv").symlink_to(db.with_name("encounters.db.keyring"))
    code, _, err = run(
        capsys,
        "export",
        "--plaintext",
        "--out",
        str(cli_env / "link.csv"),
        "--force",
        "--db",
        str(db),
    )
    assert code == 2 and "own files" in err
    assert _unlocks(db)


def test_outputs_refuse_existing_files_and_the_data_folder(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = cli_env / "clinic" / "encounters.db"
    _cli_log(capsys, db)
    existing = cli_env / "report.csv"
    existing.write_text("keep me")
    code, _, err = run(
        capsys, "export", "--format", "csv", "--plaintext", "--out", str(existing), "--db", str(db)
    )
    assert code == 2 and "already exists" in err and "--force" in err
    assert existing.read_text() == "keep me"
    code, _, _ = run(
        capsys,
        "export",
        "--format",
        "csv",
        "--plaintext",
        "--out",
        str(existing),
        "--force",
        "--db",
        str(db),
    )
    assert code == 0 and "fever" in existing.read_text()
    home = Path(os.environ["EDGEMED_HOME"])
    code, _, err = run(capsys, "backup", str(home / "settings.toml"), "--db", str(db))
    assert code == 2 and "data folder" in err
    code, _, err = run(capsys, "backup", str(cli_env / "nowhere" / "b.backup"), "--db", str(db))
    assert code == 2 and "does not exist" in err
    assert not list(cli_env.glob(".*partial*"))


def test_a_zero_byte_or_foreign_log_is_refused_never_replaced(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = cli_env / "encounters.db"
    _cli_log(capsys, db)
    saved_keyring = db.with_name("encounters.db.keyring").read_bytes()
    for content in (b"", b"SQLite format 3\0" + b"\0" * 4080, b"hello, not a log\n" * 7):
        for extra in ("-wal", "-shm"):
            db.with_name(db.name + extra).unlink(missing_ok=True)
        db.write_bytes(content)
        with pytest.raises(CorruptLog):
            Store.open(db).unlock("amina", SECRET)
        code, _, err = run(capsys, "list", "--db", str(db))
        assert code == 1 and "not an edgemed log" in err
        assert db.read_bytes() == content  # never turned into an empty database
        assert db.with_name("encounters.db.keyring").read_bytes() == saved_keyring


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_leaves_no_partial_plaintext_export(
    cli_env: Path, tiny_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = cli_env / "encounters.db"
    _cli_log(capsys, db, count=0)
    store = Store.open(db)
    store.unlock("amina", SECRET)
    for n in range(20):
        store.save_encounter(make_record(f"F{n}", complaint="cough " * 4000))
    store.close()
    filler = tiny_disk / "filler"
    filler.write_bytes(b"\0" * (2 * 1024 * 1024 - 200 * 1024))
    for fmt in ("fhir", "csv"):
        out = tiny_disk / f"export.{fmt}"
        code, _, err = run(
            capsys, "export", "--format", fmt, "--plaintext", "--out", str(out), "--db", str(db)
        )
        assert code == 1 and "disk is full" in err and "was NOT written" in err
        assert "this was NOT saved" not in err
        assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]  # nothing partial
    code, _, err = run(capsys, "backup", str(tiny_disk / "b.backup"), "--db", str(db))
    assert code == 1 and "was NOT written" in err
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]


# --- row 2: rollback --------------------------------------------------------------------------


def test_an_older_copy_of_the_log_put_back_is_detected(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    for n in range(3):
        store.save_encounter(make_record(f"OLD{n}"))
    store.close()  # checkpointed: the database is one file
    old_copy = tmp_path / "old.db"
    shutil.copy(db_path, old_copy)
    again = Store.open(db_path)
    again.unlock(USER, PASSPHRASE)
    for n in range(3):
        again.save_encounter(make_record(f"NEW{n}"))
    again.close()

    shutil.copy(old_copy, db_path)  # roll back: recent encounters vanish
    rolled = Store.open(db_path)
    rolled.unlock(USER, PASSPHRASE)
    assert [p.kind for p in rolled.unlock_problems] == ["rolled-back"]
    assert rolled.read_only_reason is not None
    with pytest.raises(LogReadOnly):
        rolled.save_encounter(make_record("AFTER"))
    kinds = [p.kind for p in rolled.verify_audit().problems]
    assert "rolled-back" in kinds
    rolled.close()

    # Written to since the rollback (by an older edgemed, say): still caught.
    rolled = Store.open(db_path)
    rolled.unlock(USER, PASSPHRASE)
    rolled.close()


def test_cli_verify_reports_a_rollback_and_acknowledge_lets_saving_resume(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = cli_env / "encounters.db"
    _cli_log(capsys, db)
    shutil.copy(db, cli_env / "old.db")
    _cli_log_more(db)
    shutil.copy(cli_env / "old.db", db)
    code, out, err = run(capsys, "verify", "--db", str(db))
    assert code == 1 and "older than its keyring" in out and "FAILED" in err
    code, _, err = run(capsys, "list", "--db", str(db))
    assert code == 0 and "reading only" in err  # reading still works
    code, out, _ = run(capsys, "verify", "--db", str(db), "--acknowledge", "put back by IT, ok")
    assert code == 0 and "recorded in the audit log" in out
    store = Store.open(db)
    store.unlock("amina", SECRET)
    assert store.read_only_reason is None
    store.save_encounter(make_record("RESUMED"))
    entry = store.db.execute("SELECT detail_json FROM audit WHERE action = 'acknowledge'")
    assert "rolled-back" in entry.fetchone()[0]
    store.close()


def _cli_log_more(db: Path) -> None:
    store = Store.open(db)
    store.unlock("amina", SECRET)
    store.save_encounter(make_record("LATER"))
    store.close()


# --- row 3: the audit cannot be cut or bent ---------------------------------------------------


def _tamper(db_path: Path, data_key: bytes, *statements: str) -> None:
    db = connect(db_path, data_key)
    for trigger in ("audit_no_update", "audit_no_delete", "encounters_append_only"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in statements:
        db.execute(statement)
    db.conn.commit()
    db.conn.close()


def test_unlock_never_repairs_a_cut_chain(store: Store, db_path: Path) -> None:
    for n in range(4):
        store.save_encounter(make_record(f"CUT{n}"))
    key = store.data_key
    store.close()
    _tamper(db_path, key, "DELETE FROM audit WHERE seq >= (SELECT max(seq) - 1 FROM audit)")
    before = _audit_count(db_path, key)
    cut = Store.open(db_path)
    cut.unlock(USER, PASSPHRASE)
    assert [p.kind for p in cut.unlock_problems] == ["truncated"]
    assert _audit_count(db_path, key) == before  # unlock wrote nothing: no unlock entry
    assert "truncated" in [p.kind for p in cut.verify_audit().problems]
    cut.close()
    again = Store.open(db_path)
    again.unlock(USER, PASSPHRASE)  # and the next unlock still sees it
    assert [p.kind for p in again.unlock_problems] == ["truncated"]
    again.close()


def _audit_count(db_path: Path, key: bytes) -> int:
    db = connect(db_path, key)
    try:
        return int(db.execute("SELECT count(*) FROM audit").fetchone()[0])
    finally:
        db.conn.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("arrived_at", "2001-01-01T00:00:00.000000Z"),  # hides a patient from today's queue
        ("target_minutes", 240),  # moves a RED patient down the queue
        ("patient_name", "someone else"),  # hides them from search
        ("clinic_number", "C0"),
        ("category", "green"),
        ("complaint", "nothing"),
        ("saved_by", "mallory"),
        ("correction_reason", "because"),
    ],
)
def test_every_column_a_nurse_sees_is_covered(
    store: Store, db_path: Path, column: str, value: object
) -> None:
    saved = store.save_encounter(make_record("COL", category="red", target=0))
    store.save_encounter(make_record("OTHER"))
    key = store.data_key
    store.close()
    _tamper(
        db_path,
        key,
        f"UPDATE encounters SET {column} = {value!r} WHERE encounter_id = '{saved.encounter_id}'",
    )
    opened = Store.open(db_path)
    opened.unlock(USER, PASSPHRASE)
    problems = [p for p in opened.verify_audit().problems if p.kind != "schema"]
    assert [p.kind for p in problems] == ["encounter-changed"]
    assert saved.encounter_id in problems[0].message
    opened.close()


def test_a_rewritten_entry_with_a_recomputed_hash_fails_the_mac(store: Store) -> None:
    from edgemed.store.audit import entry_hash

    store.save_encounter(make_record("MAC"))
    for trigger in ("audit_no_update", "audit_no_delete"):
        store.db.execute(f"DROP TRIGGER {trigger}")
    row = store.db.execute(
        "SELECT seq, at, action, subject, detail_json, prev_hash FROM audit WHERE seq = 3"
    ).fetchone()
    forged = entry_hash(row[5], row[1], "mallory", row[2], row[3], row[4])
    # A consistent sha256 chain, but only the log's MAC key could make the MAC.
    store.db.execute("UPDATE audit SET user = 'mallory', hash = ? WHERE seq = 3", [forged])
    store.db.execute("UPDATE audit SET prev_hash = ? WHERE seq = 4", [forged])
    kinds = [(p.kind, p.seq) for p in store.verify_audit().problems if p.kind != "schema"]
    assert ("forged", 3) in kinds


def test_an_edited_search_index_is_caught(store: Store) -> None:
    saved = store.save_encounter(make_record("FTS"))
    row = store.db.execute(
        "SELECT row_id, clinic_number, patient_name, complaint FROM encounters"
    ).fetchone()
    store.db.execute(
        "INSERT INTO encounters_fts(encounters_fts, rowid, clinic_number, patient_name, complaint) "
        "VALUES ('delete', ?, ?, ?, ?)",
        list(row),
    )
    assert store.list_encounters(search="zawadi") == []  # hidden from search
    kinds = [p.kind for p in store.verify_audit().problems]
    assert kinds == ["search-index"], saved


def test_verify_reports_every_damaged_page(store: Store, db_path: Path) -> None:
    for n in range(30):
        store.save_encounter(make_record(f"PG{n}", complaint="cough " * 1500))
    store.close()
    pages = db_path.stat().st_size // 4096
    # Damage five pages among the encounters' overflow pages (the middle of the file).
    damaged = sorted({pages // 3 + 3 * i for i in range(5)})
    with open(db_path, "r+b") as handle:
        for page in damaged:
            handle.seek(page * 4096 + 1000)
            handle.write(os.urandom(32))
    opened = Store.open(db_path)
    opened.unlock(USER, PASSPHRASE, read_only=True)
    problems = [p for p in opened.verify_audit().problems if p.kind == "damaged-page"]
    assert len(problems) >= len(damaged)
    for page in damaged:
        assert any(str(page + 1) in p.message for p in problems), (page, problems)
    opened.close()


# --- row 4: permissions and one passphrase policy ---------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_is_private_even_with_a_loose_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = os.umask(0o022)
    try:
        folder = tmp_path / "clinic"
        store = Store.create(folder / "encounters.db", USER, PASSPHRASE, kdf=CHEAP_KDF)
        store.save_encounter(make_record("P"))
        store.save_draft("d", {"x": 1})
        with pytest.raises(WrongPassphrase):
            Store.open(folder / "encounters.db").unlock(USER, "wrong passphrase")
        store.unlock(USER, PASSPHRASE)
        write_backup(store, tmp_path / "copy.backup", "backup words", kdf=CHEAP_KDF)
        assert _mode(folder) == 0o700
        files = sorted(p.name for p in folder.iterdir())
        assert {"encounters.db", "encounters.db-wal", "encounters.db-shm"} <= set(files)
        assert {"encounters.db.keyring", "encounters.db.attempts"} <= set(files)
        for name in files:
            assert _mode(folder / name) == 0o600, name
        assert _mode(tmp_path / "copy.backup") == 0o600
        assert permission_problems(folder / "encounters.db") == []
        store.close()
        os.chmod(folder / "encounters.db.keyring", 0o644)
        os.chmod(folder, 0o755)
        found = permission_problems(folder / "encounters.db")
        assert len(found) == 2 and "keyring" in found[1]
    finally:
        os.umask(old)


def test_the_cli_sets_a_private_umask_and_exports_are_private(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = cli_env / "encounters.db"
    _cli_log(capsys, db)
    assert os.umask(0o077) == 0o077  # set by edgemed.cli.main
    out = cli_env / "out.json"
    assert run(capsys, "export", "--plaintext", "--out", str(out), "--db", str(db))[0] == 0
    assert _mode(out) == 0o600


def test_doctor_reports_wrong_permissions(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgemed.commands.doctor import _permission_problems

    monkeypatch.setenv("EDGEMED_HOME", str(db_path.parent))
    Store.create(db_path, USER, PASSPHRASE, kdf=CHEAP_KDF).close()
    assert _permission_problems() == []
    os.chmod(db_path, 0o644)
    assert any("encounters.db is 0o644" in p for p in _permission_problems())


@pytest.mark.parametrize("weak", ["abc", "1234567", "password1", "Password123", "aaaaaaaaaa"])
def test_the_passphrase_policy_is_the_same_in_cli_and_app(
    weak: str, cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgemed.errors import InputError
    from edgemed.service.session import Session

    monkeypatch.setenv("EDGEMED_PASSPHRASE", weak)
    code, _, cli_err = run(capsys, "init", "--db", str(cli_env / "a.db"))
    assert code == 2 and not (cli_env / "a.db").exists()
    session = Session(
        log_path=cli_env / "b.db", key_cost={"memory_kib": 1024, "time_cost": 1, "parallelism": 1}
    )
    with pytest.raises(InputError) as app_error:
        session.setup(
            language="en",
            clinic_name="",
            user="amina",
            passphrase=weak,
            passphrase_again=weak,
            model_id=None,
        )
    assert app_error.value.message in cli_err
    store = Store.create(cli_env / "c.db", USER, PASSPHRASE, kdf=CHEAP_KDF)
    with pytest.raises(WeakPassphrase):
        store.change_passphrase(USER, PASSPHRASE, weak)
    with pytest.raises(WeakPassphrase):
        store.add_user("juma", weak)
    store.close()


# --- row 5: the failed-unlock delay cannot be raced or edited ---------------------------------


def test_parallel_guesses_are_each_counted(store: Store, db_path: Path) -> None:
    store.close()
    generous = AttemptPolicy(free_attempts=100, base_s=1.0, cap_s=1.0)
    guesses = 12
    errors: list[BaseException] = []

    def guess(n: int) -> None:
        try:
            Store.open(db_path, policy=generous).unlock(USER, f"wrong guess {n}", wait=False)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(e, WrongPassphrase) for e in errors) and len(errors) == guesses
    assert FailedAttempts.load(db_path, generous).count == guesses


def test_parallel_guesses_cannot_skip_the_delay(store: Store, db_path: Path) -> None:
    store.close()
    outcomes: list[str] = []

    def guess(n: int) -> None:
        try:
            Store.open(db_path, policy=QUICK_POLICY).unlock(USER, f"wrong {n}", wait=False)
        except BaseException as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Only the free attempts reach Argon2; every other guess is told to wait.
    assert outcomes.count("WrongPassphrase") == QUICK_POLICY.free_attempts
    assert outcomes.count("UnlockDelayed") == 10 - QUICK_POLICY.free_attempts


def _attempts_file(db_path: Path) -> Path:
    return FailedAttempts.path_for(db_path)


@pytest.mark.parametrize(
    "content",
    [
        '{"count": -1000000, "last_failure": 0}',  # free tries, the old format
        '{"count": 2, "last_failure": 1e15}',  # locks everyone out, the old format
        "\x00garbage",
        "[]",
    ],
)
def test_an_edited_attempts_file_fails_safe_and_never_forever(
    store: Store, db_path: Path, content: str
) -> None:
    store.close()
    _attempts_file(db_path).write_text(content)
    locked = Store.open(db_path, policy=QUICK_POLICY)
    with pytest.raises(UnlockDelayed) as delayed:
        locked.unlock(USER, PASSPHRASE, wait=False)
    assert delayed.value.wait_s <= QUICK_POLICY.delay_after(QUICK_POLICY.free_attempts) + 0.01
    assert str(_attempts_file(db_path)) in (delayed.value.hint or "")  # what to look at
    time.sleep(delayed.value.wait_s)
    locked.unlock(USER, PASSPHRASE, wait=False)  # the delay passed: not refused forever
    locked.close()


def test_authentic_extreme_counts_do_not_crash(store: Store, db_path: Path) -> None:
    store.close()
    FailedAttempts._write(db_path, 5000, time.time() - 3600)
    assert AttemptPolicy().delay_after(5000) == AttemptPolicy().cap_s  # no OverflowError
    assert AttemptPolicy().delay_after(10**9) == AttemptPolicy().cap_s
    Store.open(db_path, policy=QUICK_POLICY).unlock(USER, PASSPHRASE, wait=False)
    # An authentic far-future time (the clock went back) delays once, from now.
    FailedAttempts._write(db_path, 3, time.time() + 10**9)
    loaded = FailedAttempts.load(db_path, QUICK_POLICY)
    assert loaded.wait_needed(QUICK_POLICY, time.time()) <= QUICK_POLICY.cap_s


def test_deleting_the_counter_alone_fails_safe(store: Store, db_path: Path) -> None:
    store.close()
    for _ in range(QUICK_POLICY.free_attempts):
        with pytest.raises(WrongPassphrase):
            Store.open(db_path, policy=QUICK_POLICY).unlock(USER, "wrong guess", wait=False)
    time.sleep(QUICK_POLICY.delay_after(QUICK_POLICY.free_attempts))
    _attempts_file(db_path).unlink()
    with pytest.raises(UnlockDelayed):
        Store.open(db_path, policy=QUICK_POLICY).unlock(USER, "another guess", wait=False)


# --- row 6: a full disk does not lock anyone out of reading -----------------------------------


def test_reading_works_on_a_full_disk_and_messages_say_what_happened(tiny_disk: Path) -> None:
    db = tiny_disk / "encounters.db"
    store = Store.create(db, USER, PASSPHRASE, kdf=CHEAP_KDF)
    saved = [store.save_encounter(make_record(f"FULL{n}")) for n in range(5)]
    store.close()
    filler = _fill(tiny_disk)

    full = Store.open(db)
    full.unlock(USER, PASSPHRASE)  # used to fail: unlock wrote an audit row
    assert {e.encounter_id for e in full.list_encounters()} == {s.encounter_id for s in saved}
    with pytest.raises(DiskFull) as saving:
        full.save_encounter(make_record("NOROOM"))
    assert "NOT saved" in saving.value.message  # true: a save was refused
    with pytest.raises(DiskFull) as exporting:
        full.export_fhir(plaintext=True)
    assert "NOT saved" not in exporting.value.message  # nothing was being saved
    full.close()

    filler.unlink()
    later = Store.open(db)
    later.unlock(USER, PASSPHRASE)
    later.save_encounter(make_record("ROOM AGAIN"))
    assert later.verify_audit().ok
    later.close()


# --- row 9: a crafted backup cannot bring its own database objects ----------------------------


@pytest.mark.parametrize(
    "extra",
    [
        "CREATE TRIGGER hide_red AFTER INSERT ON encounters WHEN NEW.category = 'red' "
        "BEGIN DELETE FROM encounters WHERE row_id = NEW.row_id; END",
        "CREATE VIEW everyone AS SELECT * FROM encounters",
        "CREATE TABLE stash (x)",
        "CREATE INDEX by_name ON encounters (patient_name)",
    ],
)
def test_restore_refuses_objects_edgemed_did_not_create(
    store: Store, tmp_path: Path, extra: str
) -> None:
    store.save_encounter(make_record("BK"))
    store.db.execute(extra)
    backup = write_backup(store, tmp_path / "crafted.backup", "backup words", kdf=CHEAP_KDF)
    with pytest.raises(BadBackup) as refused:
        restore_backup(
            backup,
            "backup words",
            dest=tmp_path / "r" / "encounters.db",
            user="juma",
            passphrase="juma passphrase",
            kdf=CHEAP_KDF,
        )
    assert "did not create" in refused.value.message
    assert not (tmp_path / "r" / "encounters.db").exists()


def test_restore_rechecks_the_audit(store: Store, tmp_path: Path) -> None:
    saved = store.save_encounter(make_record("AUD", category="red", target=0))
    trigger = store.db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'encounters_append_only'"
    ).fetchone()[0]
    store.db.execute("DROP TRIGGER encounters_append_only")
    store.db.execute(
        "UPDATE encounters SET target_minutes = 240 WHERE encounter_id = ?", [saved.encounter_id]
    )
    store.db.execute(trigger)  # the schema looks untouched again
    backup = write_backup(store, tmp_path / "bent.backup", "backup words", kdf=CHEAP_KDF)
    with pytest.raises(BadBackup) as refused:
        restore_backup(
            backup,
            "backup words",
            dest=tmp_path / "r.db",
            user="juma",
            passphrase="juma passphrase",
            kdf=CHEAP_KDF,
        )
    assert "does not verify" in refused.value.message
    assert not (tmp_path / "r.db").exists() and not Keyring.path_for(tmp_path / "r.db").exists()


# --- row 10: keyring costs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("parallelism", 0, "parallelism"),
        ("memory_kib", 2**40, "memory_kib"),
        ("time_cost", 0, "time_cost"),
        ("time_cost", "3", "whole numbers"),
    ],
)
def test_keyring_costs_are_checked(
    store: Store,
    db_path: Path,
    field: str,
    value: object,
    named: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.close()
    path = Keyring.path_for(db_path)
    raw = json.loads(path.read_text())
    raw["accounts"][0]["kdf"][field] = value
    path.write_text(json.dumps(raw))
    with pytest.raises(CorruptLog) as damaged:
        Store.open(db_path)
    assert named in (damaged.value.hint or "")
    monkeypatch.setenv("EDGEMED_USER", USER)
    monkeypatch.setenv("EDGEMED_PASSPHRASE", PASSPHRASE)
    code, _, err = run(capsys, "list", "--db", str(db_path))
    assert code == 1 and "damaged" in err


def test_an_old_purge_still_verifies(store: Store) -> None:
    """The new checks keep the held guarantees: purge, correct and verify stay whole."""
    old = store.save_encounter(make_record("OLD", arrived_at=days_ago(40), decided_at=days_ago(40)))
    store.correct_encounter(
        old.encounter_id, make_record("OLD2", arrived_at=days_ago(40)), reason="typo"
    )
    store.save_encounter(make_record("NEW", arrived_at=days_ago(0) - timedelta(minutes=1)))
    assert store.purge(30) == 1
    assert store.verify_audit().ok
