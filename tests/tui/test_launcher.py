"""`make run` leaves an `edgemed` command: a launcher in ~/.local/bin when it is on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _launcher(home: Path, on_path: bool) -> subprocess.CompletedProcess[str]:
    path = os.environ["PATH"]
    if on_path:
        path = f"{home}/.local/bin:{path}"
    env = {**os.environ, "HOME": str(home), "PATH": path}
    # -o: the install stamp counts as up to date (the test never reinstalls).
    return subprocess.run(
        ["make", "-s", "-o", ".venv/.stamp-runtime", "launcher"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_launcher_on_path_runs_edgemed(tmp_path: Path) -> None:
    done = _launcher(tmp_path, on_path=True)
    launcher = tmp_path / ".local/bin/edgemed"
    assert "type 'edgemed'" in done.stdout
    assert os.access(launcher, os.X_OK)
    assert str(ROOT / ".venv/bin/edgemed") in launcher.read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_launcher_off_path_says_what_to_type(tmp_path: Path) -> None:
    done = _launcher(tmp_path, on_path=False)
    assert f"type '{ROOT}/.venv/bin/edgemed'" in done.stdout
    assert not (tmp_path / ".local/bin/edgemed").exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_launcher_never_overwrites_a_foreign_file(tmp_path: Path) -> None:
    foreign = tmp_path / ".local/bin/edgemed"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("#!/bin/sh\necho someone else's\n")
    _launcher(tmp_path, on_path=True)
    assert "someone else's" in foreign.read_text()
