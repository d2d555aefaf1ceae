"""edgemed-quantize ends like edgemed: one error renderer, named exit codes, Ctrl-C in words."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

import quantize.readiness
from edgemed.errors import ExitCode, InputError
from quantize.cli import main


def _exit_of(
    raised: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> int | str | None:
    def check(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(quantize.readiness, "check", check)
    with pytest.raises(SystemExit) as ended:
        main(["inspect", str(tmp_path)])
    return ended.value.code


def test_ctrl_c_is_said_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_of(KeyboardInterrupt(), tmp_path, monkeypatch) == ExitCode.INTERRUPTED == 130
    assert capsys.readouterr().err.strip() == "Interrupted."


def test_a_no_at_a_prompt_is_aborted_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_of(click.exceptions.Abort(), tmp_path, monkeypatch) == ExitCode.FAILED
    assert capsys.readouterr().err.strip() == "Aborted."


def test_an_edgemed_error_is_rendered_like_edgemed_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = InputError("the folder has no config.json", hint="Point at an HF model folder.")
    assert _exit_of(error, tmp_path, monkeypatch) == ExitCode.BAD_INPUT
    assert capsys.readouterr().err.splitlines() == [
        "Error: the folder has no config.json",
        "Point at an HF model folder.",
    ]
