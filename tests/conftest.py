"""Every test gets its own data directory and the source language, whatever the machine has."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("edgemed-home")
    monkeypatch.setenv("EDGEMED_HOME", str(home))
    monkeypatch.setenv("EDGEMED_CONFIG", str(home / "settings.toml"))
    monkeypatch.setenv("EDGEMED_LANG", "en")
    yield home
