from __future__ import annotations

from pathlib import Path

import pytest

from edgemed.catalog import InstalledModel
from tests.inference.model_cache import install_default_once


@pytest.fixture(scope="session")
def default_model() -> InstalledModel:
    """The real SmolLM2 default model, installed through the catalog (cached across runs)."""
    return install_default_once()


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Checksum verdicts of one test never vouch for a file in another."""
    cache = tmp_path_factory.mktemp("edgemed-cache")
    monkeypatch.setenv("EDGEMED_CACHE", str(cache))
    return cache
