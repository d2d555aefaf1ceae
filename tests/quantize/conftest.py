"""Session-wide tiny models and their GGUF conversions, made once (seconds, not minutes)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch", reason="the quantize extra is not installed")
pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")

from tests.quantize.tiny_models import TINY, make_model

MULTILINGUAL = [
    "The patient has a fever and a cough since three days.",
    "La patiente a de la fièvre, 39,2 °C ! Respiration rapide…",
    "Mgonjwa ana homa na kikohozi kwa siku tatu.",
    "मरीज़ को तीन दिनों से बुखार है। المريض يعاني من الحمى",
    "<|im_start|>user\nPulse 128, SpO2 91%<|im_end|>\n<|im_start|>assistant\n",
    "  double  spaces\n\n\ttabs and 12345678 digits",
]


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_models(tiny_dir: Path) -> dict[str, Path]:
    """One random model (hidden 64) per TINY family, named by its key, plus variants."""
    variants: dict[str, dict[str, Any]] = {name: {"family": name} for name in TINY}
    variants |= {
        "mistral-no-window": {"family": "mistral", "sliding_window": None},  # v0.2 / v0.3
        "llama-bf16-tied": {"family": "llama", "dtype": "bfloat16", "tied": True},
        "llama-f16": {"family": "llama", "dtype": "float16"},
        "llama3-rope": {
            "family": "llama",
            "rope_scaling": {
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 64,
            },
        },
        "llama-linear-rope": {
            "family": "llama",
            "rope_scaling": {"rope_type": "linear", "factor": 4.0},
        },
        "qwen2-yarn-rope": {
            "family": "qwen2",
            "rope_scaling": {
                "rope_type": "yarn",
                "factor": 4.0,
                "original_max_position_embeddings": 128,
            },
        },
    }
    return {name: make_model(tiny_dir / name, **spec) for name, spec in variants.items()}


@pytest.fixture(scope="session")
def wide_llama(tiny_dir: Path) -> Path:
    """Hidden 256: every row is a whole number of k-quant blocks, so k-quants are really used."""
    return make_model(tiny_dir / "wide-llama", "llama", hidden=256, heads=4, kv_heads=2)


@pytest.fixture(scope="session")
def f32_ggufs(
    tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    from quantize.gguf_export import write_gguf

    out = tmp_path_factory.mktemp("tiny-gguf")
    return {
        name: write_gguf(source, out / f"{name}.gguf", "f32") and out / f"{name}.gguf"
        for name, source in tiny_models.items()
    }


# llama.cpp's own converter is the reference for the tensors: the copy vendored in the installed
# llama-cpp-python's source package (the same tree bench/bench_llama.py builds llama-bench from,
# cached under build/llama-bench/, git-ignored). EDGEMED_LLAMA_CPP_SRC may name another tree.
LLAMA_CPP_CACHE = Path(__file__).resolve().parents[2] / "build" / "llama-bench"


@pytest.fixture(scope="session")
def llama_cpp_source() -> Path:
    given = os.environ.get("EDGEMED_LLAMA_CPP_SRC")
    if given:
        source = Path(given)
        assert (source / "convert_hf_to_gguf.py").is_file(), f"{given} has no convert_hf_to_gguf.py"
        return source
    version = metadata.version("llama_cpp_python")
    source = LLAMA_CPP_CACHE / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if not (source / "convert_hf_to_gguf.py").is_file():
        LLAMA_CPP_CACHE.mkdir(parents=True, exist_ok=True)
        archive = LLAMA_CPP_CACHE / f"llama_cpp_python-{version}.tar.gz"
        if not archive.is_file():
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "download", "--no-binary", ":all:"),
                    *("--no-deps", "--disable-pip-version-check", "--quiet"),
                    *("--dest", str(LLAMA_CPP_CACHE), f"llama-cpp-python=={version}"),
                ],
                check=True,
                timeout=600,
            )
        with tarfile.open(archive) as opened:
            opened.extractall(LLAMA_CPP_CACHE, filter="data")
    assert (source / "convert_hf_to_gguf.py").is_file(), f"no converter in {source}"
    return source
