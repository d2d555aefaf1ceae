"""`edgemed logs ...` end to end, through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgemed.cli import cli, main
from edgemed.store import Store

from .conftest import make_record

SECRET = "s3cret-clinic-phrase"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("EDGEMED_USER", "amina")
    monkeypatch.setenv("EDGEMED_PASSPHRASE", SECRET)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["logs", *args])
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err  # never echoed
    return code, out.out, out.err


def test_init_list_show_verify(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init")[0] == 0
    assert run(capsys, "init")[0] == 1  # refuses to create over it
    store = Store.open()
    store.unlock("amina", SECRET)
    saved = store.save_encounter(make_record("CLI"))
    store.correct_encounter(saved.encounter_id, make_record("CLI2"), reason="wrong weight")
    store.close()

    code, out, _ = run(capsys, "list")
    assert code == 0 and saved.encounter_id in out and "v2" in out
    code, out, _ = run(capsys, "list", "--today")
    assert saved.encounter_id in out
    code, out, _ = run(capsys, "list", "--search", "nomatch")
    assert "No encounters." in out
    code, out, _ = run(capsys, "show", saved.encounter_id[:5], "--history")
    assert "version 1" in out and "version 2" in out and "Correction: wrong weight" in out
    assert "Proposed, not confirmed: Convulsion" in out
    code, out, _ = run(capsys, "verify")
    assert code == 0 and "intact" in out
    code, _, err = run(capsys, "show", "zzzz")
    assert code == 2 and "No encounter zzzz" in err


def test_wrong_passphrase_is_a_clear_error(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "init")
    monkeypatch.setenv("EDGEMED_PASSPHRASE", "guess")
    code, _, err = run(capsys, "list")
    assert code == 1 and "Wrong user name or passphrase" in err and "Traceback" not in err


def test_export_backup_restore_passwd_purge(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "init")
    store = Store.open()
    store.unlock("amina", SECRET)
    store.save_encounter(make_record("X"))
    store.close()

    code, _, err = run(capsys, "export", "--out", str(env / "out.json"))
    assert code == 2 and "NOT encrypted" in err and not (env / "out.json").exists()
    code, out, err = run(capsys, "export", "--out", str(env / "out.json"), "--plaintext")
    assert code == 0 and "plain text" in err
    assert json.loads((env / "out.json").read_text())["resourceType"] == "Bundle"
    code, _, _ = run(
        capsys, "export", "--format", "csv", "--out", str(env / "out.csv"), "--plaintext"
    )
    assert code == 0 and "fever with fast breathing X" in (env / "out.csv").read_text()

    monkeypatch.setenv("EDGEMED_BACKUP_PASSPHRASE", "backup-phrase")
    assert run(capsys, "backup", str(env / "b.backup"))[0] == 0
    monkeypatch.setenv("EDGEMED_NEW_PASSPHRASE", "restored-phrase")
    code, out, _ = run(capsys, "restore", str(env / "b.backup"), "--to", str(env / "r.db"))
    assert code == 0 and "Restored 1 encounters" in out
    code, _, err = run(capsys, "restore", str(env / "b.backup"))
    assert code == 1 and "already an encounter log" in err

    monkeypatch.setenv("EDGEMED_NEW_PASSPHRASE", "second-phrase")
    assert run(capsys, "passwd")[0] == 0
    monkeypatch.setenv("EDGEMED_PASSPHRASE", "second-phrase")
    monkeypatch.setenv("EDGEMED_NEW_PASSPHRASE", "juma-phrase")
    assert run(capsys, "add-user", "juma")[0] == 0
    code, out, _ = run(capsys, "purge", "--older-than", "30", "--yes")
    assert code == 0 and "Deleted 0 encounters" in out
    monkeypatch.setenv("EDGEMED_USER", "juma")
    monkeypatch.setenv("EDGEMED_PASSPHRASE", "juma-phrase")
    assert run(capsys, "verify")[0] == 0


def test_passphrase_prompt_hides_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEMED_PASSPHRASE", raising=False)
    result = CliRunner().invoke(
        cli, ["logs", "init", "--user", "amina"], input=f"{SECRET}\n{SECRET}\n"
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    result = CliRunner().invoke(cli, ["logs", "list", "--user", "amina"], input=f"{SECRET}\n")
    assert result.exit_code == 0 and "No encounters." in result.output


def test_show_words_each_reason_from_its_kind(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`logs show` words a real decision's reasons (not a dump of the saved dict), in the
    nurse's language, and still shows a record saved before reasons had kinds."""
    from dataclasses import replace

    from edgemed.i18n import set_language
    from edgemed.protocol import Patient, Vitals, assess

    vitals = {"rr": 32, "hr": 130, "sbp": 85, "temp_c": 39.5, "avpu": "alert"}
    vitals["mobility"] = "walking"
    decision = assess(Patient(age_years=30), Vitals.from_dict(vitals), ()).to_dict()
    run(capsys, "init")
    store = Store.open()
    store.unlock("amina", SECRET)
    typed = make_record("typed")
    saved = store.save_encounter(replace(typed, decision={**typed.decision, **decision}))
    store.close()
    try:
        set_language("fr")
        code, out, _ = run(capsys, "show", saved.encounter_id)
    finally:
        set_language("en")
    shown = [line for line in out.splitlines() if line.startswith("  - ")]
    assert code == 0 and shown, out
    assert not any("{" in line or "'rule_id'" in line for line in shown), shown
    assert any("TEWS" in line for line in shown), shown
    code, out, _ = run(capsys, "show", saved.encounter_id)
    assert any(line.startswith("  - ") and "TEWS" in line for line in out.splitlines())
