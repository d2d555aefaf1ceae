"""The real program in a real terminal: `edgemed` started in tmux, driven with send-keys, read
with capture-pane; then the encrypted log is checked with `edgemed logs`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

EDGEMED = Path(sys.executable).with_name("edgemed")
USER, PASSPHRASE = "amina", "tmux passphrase 1"


def _tmux(*args: str) -> str:
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Terminal:
    def __init__(self, name: str) -> None:
        self.name = name

    def screen(self) -> str:
        return _tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def keys(self, *keys: str, pause: float = 0.25) -> None:
        for key in keys:
            _tmux("send-keys", "-t", self.name, key)
            time.sleep(pause)

    def type(self, text: str) -> None:
        _tmux("send-keys", "-t", self.name, "-l", text)
        time.sleep(0.3)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[Terminal, dict[str, str]]]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for this test (`make test` installs it)")
    name = f"edgemed-test-{os.getpid()}"
    env = {
        "EDGEMED_HOME": str(tmp_path / "home"),
        "EDGEMED_CONFIG": str(tmp_path / "home" / "settings.toml"),
        "EDGEMED_MODELS_DIR": str(tmp_path / "models"),
        "EDGEMED_LANG": "en",
        "TERM": "xterm-256color",
    }
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    _tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", f"env {exports} {EDGEMED}")
    try:
        yield Terminal(name), env
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=30)


def test_a_nurse_triages_a_patient_in_the_real_program(
    terminal: tuple[Terminal, dict[str, str]],
) -> None:
    term, env = terminal
    term.wait_for("first-time set-up")
    for field in ("Kibera", USER, PASSPHRASE, PASSPHRASE):
        term.type(field)
        term.keys("Enter", pause=1.0)
    term.wait_for("No patients yet today")

    term.keys("n")
    term.wait_for("What brings the patient")
    term.type("Grace W")
    term.keys("Enter", pause=1.0)
    term.type("52")
    term.keys("Enter", "Tab", "Tab", "Tab", pause=0.5)
    term.type("she is fitting now")
    term.keys("Enter")
    term.wait_for("confirm or reject", timeout=60)
    term.keys("C-n")
    term.wait_for("Emergency signs")
    # "Seizure now" is the fourth sign on the SATS list: three Downs, then Space ticks it.
    lines = [line.strip() for line in term.screen().splitlines() if line.strip().startswith("[")]
    assert lines.index("[ ] Seizure now") == 3, lines
    term.keys("Down", "Down", "Down", "Space")
    term.wait_for("[x] Seizure now")
    # A ticked red sign ends the interview: straight to the saved RED result, no vitals first.
    term.keys("C-n")
    shown = term.wait_for("E M E R G E N C Y", timeout=60)
    assert "Vital signs" not in shown
    assert "R E D" in shown and "Immediately" in shown
    term.wait_for("Ctrl+S saves", timeout=60)
    term.keys("C-s")
    shown = term.wait_for("Today's queue")
    assert "Emergency" in shown and "Grace W" in shown
    term.keys("C-q")
    time.sleep(1.0)

    # The log afterwards, through the deployer's command with the nurse's passphrase.
    cli_env = {**os.environ, **env, "EDGEMED_USER": USER, "EDGEMED_PASSPHRASE": PASSPHRASE}
    listed = subprocess.run(
        [str(EDGEMED), "logs", "list"], env=cli_env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert "Grace W" in listed.stdout and "red" in listed.stdout and "v2" in listed.stdout
    encounter_id = listed.stdout.split()[0]
    shown_log = subprocess.run(
        [str(EDGEMED), "logs", "show", encounter_id, "--history"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown_log.returncode == 0, shown_log.stderr
    assert "seizure_current" in shown_log.stdout or "Seizure" in shown_log.stdout
    assert "Triage: RED (Emergency)" in shown_log.stdout
    verified = subprocess.run(
        [str(EDGEMED), "logs", "verify"], env=cli_env, capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
