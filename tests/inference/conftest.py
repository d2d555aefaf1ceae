from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edgemed.catalog import InstalledModel
from edgemed.inference.engine import EngineSettings
from edgemed.inference.llama import LlamaCppEngine
from tests.inference.model_cache import install_default_once
from tests.inference.tiny_onnx import TinyModel, build_tiny_model


@pytest.fixture(scope="session")
def default_model() -> InstalledModel:
    """The real SmolLM2 default model, installed through the catalog (cached across runs)."""
    return install_default_once()


@pytest.fixture(scope="session")
def smollm(default_model: InstalledModel) -> Iterator[LlamaCppEngine]:
    """One loaded llama.cpp engine on the default model, shared by the engine tests."""
    engine = LlamaCppEngine(
        default_model.entry_point,
        EngineSettings(threads=2, context=2048),
        model_id=default_model.artifact.id,
        family=default_model.artifact.family,
        template_name=default_model.artifact.chat_template,
    )
    engine.load()
    yield engine
    engine.close()


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Checksum verdicts of one test never vouch for a file in another."""
    cache = tmp_path_factory.mktemp("edgemed-cache")
    monkeypatch.setenv("EDGEMED_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """A tiny random Llama and its optimum ONNX export (with KV cache), built at test time."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))
