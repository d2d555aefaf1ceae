"""The real program in a real terminal at 80x24: `edgemed` started in tmux, driven with
send-keys, read with capture-pane, in English, French and Arabic (what is on screen is checked
in the nurse's language, laid out as the app lays it out); then the encrypted log is checked
with `edgemed logs`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgemed.i18n import _, available_languages, is_rtl, protocol_text, set_language
from edgemed.protocol import Category
from edgemed.service.wording import category_word, colour_name
from edgemed.tui.text import display

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


LANGUAGES = ["en", "fr", "ar"]


def shown(text: str, width: int = 24) -> str:
    """A piece of ``text`` (already translated) as the terminal shows it: its start, which in
    Arabic, put into visual order, is the right end of the line."""
    visual = display(text)
    if len(visual) <= width:
        return visual
    return visual[-width:] if is_rtl() else visual[:width]


@pytest.fixture
def terminal(tmp_path: Path, language: str) -> Iterator[tuple[Terminal, dict[str, str]]]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for this test (`make test` installs it)")
    name = f"edgemed-test-{os.getpid()}"
    env = {
        "EDGEMED_HOME": str(tmp_path / "home"),
        "EDGEMED_CONFIG": str(tmp_path / "home" / "settings.toml"),
        "EDGEMED_MODELS_DIR": str(tmp_path / "models"),
        "EDGEMED_LANG": language,
        "TERM": "xterm-256color",
    }
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    _tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", f"env {exports} {EDGEMED}")
    try:
        yield Terminal(name), env
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=30)


def _tick_line(box: str, label: str, language: str) -> str:
    """A checklist line as printed: the box starts it, on the right of a right-to-left line."""
    return f"{label} {box}" if is_rtl(language) else f"{box} {label}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_nurse_triages_a_patient_in_the_real_program(
    terminal: tuple[Terminal, dict[str, str]], language: str
) -> None:
    term, env = terminal
    term.wait_for("first-time set-up")
    if language != "en":
        # The nurse picks the language first: Shift+Tab to the list, Enter opens it, the arrow
        # keys move from English to it, Enter; the set-up is shown again in that language.
        languages = available_languages()
        steps = languages.index(language) - languages.index("en")
        arrow = "Down" if steps > 0 else "Up"
        term.keys("BTab", "Enter", *([arrow] * abs(steps)), "Enter", pause=0.5)
    set_language(language)
    term.wait_for(shown(_("Welcome to edgemed: first-time set-up")))
    for field in ("Kibera", USER, PASSPHRASE, PASSPHRASE):
        term.type(field)
        term.keys("Enter", pause=1.0)
    term.wait_for(shown(_("No patients yet today. Press n for a new patient.")))

    term.keys("n")
    term.wait_for(shown(_("What brings the patient today? (free text, any language)")))
    term.type("Grace W")
    term.keys("Enter", pause=1.0)
    term.type("52")
    term.keys("Enter", "Tab", "Tab", "Tab", pause=0.5)
    term.type("she is fitting now")
    term.keys("Enter")
    term.wait_for(shown(_("Proposed from the complaint: confirm or reject each")), timeout=60)
    # The patient is named on the step, in every language.
    assert "Grace W" in term.screen()
    term.keys("C-n")
    term.wait_for(shown(_("Emergency signs: tick every one present (space), then Ctrl+N")))
    # "Seizure now" is the fourth sign on the SATS list: three Downs, then Space ticks it.
    seizure = display(protocol_text("Seizure now"))
    lines = [line.strip() for line in term.screen().splitlines() if "[ ]" in line]
    assert lines.index(_tick_line("[ ]", seizure, language)) == 3, lines
    term.keys("Down", "Down", "Down", "Space")
    term.wait_for(_tick_line("[x]", seizure, language))
    # A ticked red sign ends the interview: straight to the saved RED result, no vitals first.
    term.keys("C-n")
    word = category_word(Category.RED).upper()
    banner = display(f"{colour_name(Category.RED)}  -  {word}")
    if language != "ar":
        banner = " ".join(banner)  # spaced capitals; Arabic letters join, never spaced
    shown_now = term.wait_for(banner, timeout=60)
    assert shown(_("Vital signs (leave empty what was not measured)")) not in shown_now
    assert display(_("Immediately")) in shown_now
    term.wait_for(shown(_("Handover note: Ctrl+E opens it to read and edit, Ctrl+S saves.")), 60)
    term.keys("C-s")
    queue = _("Today's queue - {clinic} - {user}").format(clinic="Kibera", user=USER)
    shown_now = term.wait_for(shown(queue, 12))
    assert display(category_word(Category.RED)) in shown_now and "Grace W" in shown_now
    term.keys("C-q")
    time.sleep(1.0)
    # The note was written in the nurse's language: it names the category in it.
    in_the_note = (colour_name(Category.RED), category_word(Category.RED))
    set_language("en")

    # The log afterwards, through the deployer's command with the nurse's passphrase.
    # The deployer's command, in English whatever the nurse's language.
    cli_env = {
        **os.environ,
        **env,
        "EDGEMED_LANG": "en",
        "EDGEMED_USER": USER,
        "EDGEMED_PASSPHRASE": PASSPHRASE,
    }
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
    assert all(words in shown_log.stdout for words in in_the_note), shown_log.stdout
    verified = subprocess.run(
        [str(EDGEMED), "logs", "verify"], env=cli_env, capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
