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
import stat
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from tests.bundle.conftest import Installed

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


@dataclass(frozen=True)
class SetUp:
    """What one real run of setup-kiosk.sh did: the files it wrote and the commands it ran."""

    etc: Path  # what it wrote under /etc/systemd
    calls: list[list[str]]  # useradd, chown and systemctl, with their arguments

    @property
    def unit(self) -> Path:
        return self.etc / "system" / "edgemed-kiosk.service"


_STUB = '#!/bin/sh\nprintf "%s\\0" "$(basename "$0")" "$@" >> "{log}"\nprintf "\\n" >> "{log}"\n'
# `id -u` says root; `id edgemed` says there is no such user yet, so the script creates it.
_ID = '#!/bin/sh\nif [ "$1" = -u ]; then echo 0; else exit 1; fi\n'


def _set_up(prefix: Path, data: Path, folder: Path) -> SetUp:
    """Run the real setup-kiosk.sh, as root of a private user and mount namespace.

    /etc/systemd is an empty tmpfs there, so the host's is never touched; useradd, chown and
    systemctl are stubs that log their arguments (no user is made, no unit is enabled). What the
    script wrote under /etc/systemd is copied to ``folder/etc``.
    """
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to give the script its own /etc/systemd")
    stubs, etc, log = folder / "stubs", folder / "etc", folder / "calls.log"
    stubs.mkdir()
    for name in ("useradd", "chown", "systemctl"):
        (stubs / name).write_text(_STUB.format(log=log), encoding="utf-8")
    (stubs / "id").write_text(_ID, encoding="utf-8")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    # An empty /etc/systemd as on a fresh device (which always has its system/ folder).
    inside = (
        "mount -t tmpfs tmpfs /etc/systemd && mkdir /etc/systemd/system && "
        'sh "$0" --prefix "$1" --data-dir "$2" && cp -a /etc/systemd/. "$3"'
    )
    arguments = [str(SETUP), str(prefix), str(data), str(etc)]
    result = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", inside, *arguments],
        env={"PATH": f"{stubs}:/usr/sbin:/usr/bin:/sbin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "unshare" in result.stderr and not etc.exists():
        pytest.skip(f"no private namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return SetUp(etc, [line.rstrip("\0").split("\0") for line in lines])


def _rendered(installed: Installed, folder: Path) -> Path:
    """The unit as setup-kiosk.sh writes it for this install's prefix and data folder."""
    return _set_up(installed.prefix, installed.data_dir, folder).unit


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


def test_the_setup_script_installs_the_unit_and_leaves_no_console_to_log_in(
    tmp_path: Path,
) -> None:
    prefix, data = tmp_path / "prefix", tmp_path / "clinic-data"  # not the defaults
    command = prefix / "current" / "bin" / "edgemed"
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n", encoding="utf-8")
    command.chmod(0o755)
    run = _set_up(prefix, data, tmp_path)

    useradd = next(call for call in run.calls if call[0] == "useradd")
    assert useradd[-1] == "edgemed" and "--system" in useradd
    shell = useradd[useradd.index("--shell") + 1]
    assert Path(shell).name == "nologin"  # a user with no login shell: the app is all it runs
    assert useradd[useradd.index("--home-dir") + 1] == str(data)
    systemctl = [call[1:] for call in run.calls if call[0] == "systemctl"]
    assert ["mask", "getty@tty1.service"] in systemctl  # no login prompt on the app's console
    assert ["mask", "ctrl-alt-del.target"] in systemctl
    assert ["enable", "edgemed-kiosk.service"] in systemctl
    assert ["chown", "-R", "edgemed:edgemed", str(data)] in run.calls
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    logind = _unit((run.etc / "logind.conf.d" / "edgemed-kiosk.conf").read_text(encoding="utf-8"))
    assert logind["Login"]["NAutoVTs"] == "0"  # no getty on tty2-tty6 either
    service = _unit(run.unit.read_text(encoding="utf-8"))["Service"]
    assert shlex.split(service["ExecStart"]) == [str(command), "app"]
    assert service["WorkingDirectory"] == service["ReadWritePaths"] == str(data)
    assert service["EnvironmentFile"] == str(prefix / "edgemed.env")
    text = run.unit.read_text(encoding="utf-8")
    assert "/opt/edgemed" not in text and "/var/lib/edgemed" not in text


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
