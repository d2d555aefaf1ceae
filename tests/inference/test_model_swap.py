"""What was verified is what is loaded: a file swapped in while the engine opens it is refused
(issue 13, row 8)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from edgemed.catalog import InstalledModel, ModelFileError, write_manifest
from edgemed.inference import EngineSettings, open_engine
from edgemed.inference.llama import LlamaCppEngine


def test_a_model_swapped_during_loading_is_refused(
    default_model: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / default_model.artifact.files[0].path
    shutil.copyfile(default_model.entry_point, path)
    write_manifest(folder, [default_model.artifact])
    closed: list[bool] = []

    def swap_while_loading(engine: LlamaCppEngine) -> None:
        # Between the check and llama.cpp opening the path, another file takes its name.
        other = tmp_path / "other.gguf"
        shutil.copyfile(path, other)
        os.replace(other, path)

    monkeypatch.setattr(LlamaCppEngine, "load", swap_while_loading)
    monkeypatch.setattr(LlamaCppEngine, "close", lambda engine: closed.append(True))
    with pytest.raises(ModelFileError, match="changed after it was checked"):
        open_engine(path, EngineSettings(1, 512, 0, 32))
    assert closed == [True]
