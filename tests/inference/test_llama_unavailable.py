"""A llama.cpp that is installed but does not load: an error the nurse's app and the CLI word,
never a traceback, and triage goes on rules-only.

Real failures, not mocks: llama-cpp-python itself is imported in a child process whose
``LLAMA_CPP_LIB_PATH`` (llama-cpp-python's own override of its library folder) points at a
folder with no library (what a half-removed install leaves) or with a damaged ``libllama.so``.
A CUDA build on a machine without the NVIDIA driver fails the same way (``libcuda.so.1: cannot
open shared object file``), from the same ``ctypes.CDLL`` call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgemed.catalog import InstalledModel

CHILD = r"""
import json, sys
from edgemed.errors import EdgemedError
from edgemed.inference import LlamaCppUnavailable, open_engine
from edgemed.inference.opening import llama_build, llama_problem
from edgemed.service.models import open_note_writer
outcome = {"build": list(llama_build()), "problem": str(llama_problem())}
try:
    open_engine(sys.argv[1])
except LlamaCppUnavailable as error:
    outcome["open_engine"] = [type(error).__name__, error.installed, error.message, error.hint]
try:
    open_note_writer(sys.argv[2])
except EdgemedError as error:  # what the session catches: the template writes the note
    outcome["note_writer"] = type(error).__name__
print(json.dumps(outcome))
"""


def _library_folder(tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / f"llama-lib-{kind}"
    folder.mkdir()
    if kind == "damaged":
        (folder / "libllama.so").write_bytes(b"\x7fELF but not really a library")
    return folder


def _environment(tmp_path: Path, folder: Path, models: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LLAMA_CPP_LIB_PATH=str(folder),
        EDGEMED_HOME=str(tmp_path / "home"),
        EDGEMED_MODELS_DIR=str(models),
        EDGEMED_CACHE=str(tmp_path / "cache"),
        LANGUAGE="en",
    )
    return env


@pytest.mark.parametrize("kind", ["missing", "damaged"])
def test_open_engine_and_the_note_writer_say_why(
    tmp_path: Path, default_model: InstalledModel, kind: str
) -> None:
    models = default_model.directory.parent
    env = _environment(tmp_path, _library_folder(tmp_path, kind), models)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(default_model.entry_point), default_model.artifact.id],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    # No offload, no CPU feature line, and the reason kept for doctor.
    assert outcome["build"] == [False, ""]
    assert "does not load" in outcome["problem"]
    name, installed, message, hint = outcome["open_engine"]
    assert (name, installed) == ("LlamaCppUnavailable", True)
    detail = "not found" if kind == "missing" else "libllama.so"
    assert "does not load" in message and detail in message
    assert "NVIDIA driver" in hint and "rules-only" in hint
    assert outcome["note_writer"] == "LlamaCppUnavailable"


def test_doctor_reports_it_and_triage_still_works(
    tmp_path: Path, default_model: InstalledModel
) -> None:
    models = default_model.directory.parent
    env = _environment(tmp_path, _library_folder(tmp_path, "damaged"), models)
    edgemed = [sys.executable, "-m", "edgemed.cli"]
    doctor = subprocess.run([*edgemed, "doctor"], capture_output=True, text=True, env=env)
    assert doctor.returncode == 0, doctor.stderr
    assert "Traceback" not in doctor.stdout + doctor.stderr
    assert "llama.cpp is installed but its library does not load" in doctor.stdout
    assert "NVIDIA driver (libcuda.so.1)" in doctor.stdout
    as_json = subprocess.run(
        [*edgemed, "doctor", "--json"], capture_output=True, text=True, env=env
    )
    assert "libllama.so" in json.loads(as_json.stdout)["llama_cpp_problem"]
    # doctor --bench needs llama.cpp: an error with the fix, exit 1, no traceback.
    bench = subprocess.run([*edgemed, "doctor", "--bench"], capture_output=True, text=True, env=env)
    assert bench.returncode == 1
    assert "Traceback" not in bench.stdout + bench.stderr
    assert "Error: llama.cpp is installed but its library does not load" in bench.stderr
    # The protocol needs no model: a shocked adult is still assessed.
    case = {"patient": {"age_years": 52}, "vitals": {"hr": 118, "rr": 24, "sbp": 88}}
    assess = subprocess.run(
        [*edgemed, "assess", "-"], input=json.dumps(case), capture_output=True, text=True, env=env
    )
    assert assess.returncode == 0, assess.stderr
    assert json.loads(assess.stdout)["category"] in {"orange", "red"}
