"""Kiosk mode: the systemd unit is valid, runs the app and nothing else, and its command works."""

from __future__ import annotations

import configparser
import fcntl
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import termios
import time
from importlib import resources
from pathlib import Path

import pytest

from tests.deploy.conftest import Installed

KIOSK = resources.files("edgemed.bundle") / "kiosk"
UNIT = KIOSK / "edgemed-kiosk.service"
SETUP = KIOSK / "setup-kiosk.sh"
_ESCAPES = re.compile(
    rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()=>][0-9A-Za-z]?"
)


def _unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(text)
    return parser


def _rendered(installed: Installed, folder: Path) -> Path:
    """The unit as setup-kiosk.sh writes it for this install's prefix and data folder."""
    text = UNIT.read_text(encoding="utf-8")
    text = text.replace("/opt/edgemed", str(installed.prefix))
    text = text.replace("/var/lib/edgemed", str(installed.data_dir))
    path = folder / "edgemed-kiosk.service"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_unit_runs_the_app_itself_on_tty1_for_ever() -> None:
    unit = _unit(UNIT.read_text(encoding="utf-8"))
    service = unit["Service"]
    command = shlex.split(service["ExecStart"])
    # No shell between systemd and the app: when the app ends, nothing is left on the screen.
    assert command == ["/opt/edgemed/current/bin/edgemed", "app"]
    assert service["User"] == "edgemed"
    assert service["Restart"] == "always"
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert unit["Unit"]["Conflicts"] == "getty@tty1.service"
    assert (service["TTYPath"], service["StandardInput"]) == ("/dev/tty1", "tty-force")
    setup = SETUP.read_text(encoding="utf-8")
    assert '--shell "$nologin"' in setup
    assert "systemctl mask getty@tty1.service" in setup
    assert "NAutoVTs=0" in setup


def test_the_scripts_are_valid_shell() -> None:
    for script in (SETUP, resources.files("edgemed.bundle") / "install.sh"):
        checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit_for_a_real_install(installed: Installed, tmp_path: Path) -> None:
    unit = _rendered(installed, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    # verify exits 0 on unknown keys and only warns: any output at all is a finding.
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def _screen(master: int, until: float, wanted: str) -> str:
    """What the console shows two seconds after ``wanted`` first appears on it."""
    seen = b""
    settled: float | None = None
    while time.monotonic() < until and (settled is None or time.monotonic() < settled):
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
        if settled is None and wanted.encode() in _ESCAPES.sub(b" ", seen):
            settled = time.monotonic() + 2  # the cursor blinks for ever: wait a fixed while
    return re.sub(r"\s+", " ", _ESCAPES.sub(b" ", seen).decode("utf-8", "replace"))


def test_the_kiosk_command_opens_the_app_and_quitting_ends_it(
    installed: Installed, tmp_path: Path
) -> None:
    """Run ExecStart as systemd would (its environment, a 80x24 Linux console) and quit it."""
    unit = _unit(_rendered(installed, tmp_path).read_text(encoding="utf-8"))["Service"]
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(installed.data_dir)}
    for line in Path(unit["EnvironmentFile"]).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            environment[key] = value
    environment.update(dict(item.split("=", 1) for item in shlex.split(unit["Environment"])))
    installed.data_dir.mkdir(parents=True, exist_ok=True)
    master, console = os.openpty()
    fcntl.ioctl(console, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    app = subprocess.Popen(
        shlex.split(unit["ExecStart"]),
        stdin=console,
        stdout=console,
        stderr=console,
        cwd=unit["WorkingDirectory"],
        env=environment,
        start_new_session=True,
    )
    os.close(console)
    try:
        screen = _screen(master, time.monotonic() + 60, "edgemed")
        assert "edgemed" in screen, screen[-2000:]
        assert "Traceback" not in screen, screen[-3000:]
        assert app.poll() is None, screen[-2000:]
        os.write(master, b"\x11")  # Ctrl+Q: the app ends; Restart=always starts a fresh one
        assert app.wait(timeout=20) == 0
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
        os.close(master)
