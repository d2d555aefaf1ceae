"""The family registry: every architecture the converter accepts has a tiny-model round trip.

The round trip is parametrized by the registry itself (quantize.families.registered()), so a
family registered without a tiny model in tests/quantize/tiny_models.py fails here, by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quantize.errors import UnsupportedModel
from quantize.families import Family, family_for, register, registered
from tests.quantize.helpers import PROMPT, gguf_logits, torch_ids, torch_logits
from tests.quantize.tiny_models import MISTRAL_WINDOW, TINY

# HF architecture -> the TINY model that makes one
ROUND_TRIPS = {tiny.architecture: name for name, tiny in TINY.items()}


def _tiny_name(architecture: str) -> str:
    name = ROUND_TRIPS.get(architecture)
    if name is None:
        pytest.fail(
            f"{architecture} is registered in quantize/families but has no tiny-model round "
            "trip: add a TinyFamily for it to TINY in tests/quantize/tiny_models.py"
        )
    return name


def _metadata(path: Path, key: str) -> object:
    import gguf

    field = gguf.GGUFReader(path).fields[key]
    value = field.parts[-1]
    if field.types[0] == gguf.GGUFValueType.STRING:
        return bytes(value).decode()
    return value.tolist()[0]


def test_every_registered_architecture_has_a_round_trip() -> None:
    missing = sorted(set(registered()) - set(ROUND_TRIPS))
    assert not missing, (
        f"registered without a tiny-model round trip: {missing}; add each to TINY in "
        "tests/quantize/tiny_models.py"
    )
    families = set(registered().values())
    assert len(families) >= 4  # llama, mistral, qwen2, gemma3 (one class per family)


@pytest.mark.parametrize("architecture", sorted(registered()))
def test_round_trip(
    architecture: str, tiny_models: dict[str, Path], f32_ggufs: dict[str, Path]
) -> None:
    """Convert the family's tiny model; llama.cpp's logits equal PyTorch's within its context."""
    import json

    name = _tiny_name(architecture)
    folder, path = tiny_models[name], f32_ggufs[name]
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == [architecture]
    family = family_for(architecture)
    assert _metadata(path, "general.architecture") == family.gguf_arch
    context = _metadata(path, f"{family.gguf_arch}.context_length")
    assert isinstance(context, int)
    ids = torch_ids(folder, PROMPT)[:context]
    assert len(ids) > 16  # past gemma3's sliding window of 16: the window is exercised too
    expected = torch_logits(folder, ids)
    got = gguf_logits(path, ids)
    assert np.abs(expected).max() > 1.0  # logits with real spread, not near-zero noise
    assert np.abs(expected - got).max() < TINY[name].tolerance


def test_mistral_window_caps_the_context(
    tiny_models: dict[str, Path], f32_ggufs: dict[str, Path]
) -> None:
    """llama.cpp's llama has no sliding window: past it, PyTorch and llama.cpp part ways."""
    assert _metadata(f32_ggufs["mistral"], "llama.context_length") == MISTRAL_WINDOW
    assert _metadata(f32_ggufs["mistral-no-window"], "llama.context_length") == 512
    ids = torch_ids(tiny_models["mistral"], PROMPT)
    assert len(ids) > MISTRAL_WINDOW + 4
    beyond = np.abs(
        torch_logits(tiny_models["mistral"], ids) - gguf_logits(f32_ggufs["mistral"], ids)
    )
    assert beyond[:MISTRAL_WINDOW].max() < 1e-4
    assert beyond[MISTRAL_WINDOW:].max() > 0.1  # why the cap is needed


def test_each_family_names_an_onnx_export_config(tiny_models: dict[str, Path]) -> None:
    """optimum exports the family's model type for its task, and the model type is the model's."""
    import json

    import optimum.exporters.onnx.model_configs  # noqa: F401  (fills optimum's task table)
    from optimum.exporters.tasks import TasksManager

    for architecture in sorted(registered()):
        family = family_for(architecture)
        tasks = TasksManager.get_supported_tasks_for_model_type(
            family.onnx_model_type, "onnx", library_name="transformers"
        )
        assert family.onnx_task in tasks, architecture
        folder = tiny_models[_tiny_name(architecture)]
        config = json.loads((folder / "config.json").read_text())
        assert config["model_type"] == family.onnx_model_type, architecture


def test_unsupported_architecture_lists_the_supported() -> None:
    with pytest.raises(UnsupportedModel) as refused:
        family_for("MambaForCausalLM")
    assert "MambaForCausalLM" in refused.value.message
    hint = refused.value.hint or ""
    for name, family in registered().items():
        assert f"{name} ({family.gguf_arch})" in hint
    assert "docs/quantize.md" in hint
    with pytest.raises(UnsupportedModel, match="mixture-of-experts"):
        family_for("MixtralForCausalLM")


def test_an_architecture_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @register("LlamaForCausalLM")
        class Again(Family):
            gguf_arch = "llama"
            onnx_model_type = "llama"

    assert registered()["LlamaForCausalLM"].__name__ == "LlamaFamily"


def test_a_subclass_accepts_only_its_own_names() -> None:
    mistral = registered()["MistralForCausalLM"]
    assert mistral.architectures == ("MistralForCausalLM",)
    assert registered()["LlamaForCausalLM"].architectures == ("LlamaForCausalLM",)


# llama.cpp's own converter, run on each family's tiny model (the llama_cpp_source fixture: the
# vendor/llama.cpp of the installed llama-cpp-python's sdist, fetched once from PyPI, or
# EDGEMED_LLAMA_CPP_SRC). Its pre-tokenizer check
# hashes the output of known published tokenizers, which a tokenizer trained here is not, so the
# name is given; only tensors are compared.
_LLAMA_CPP_CONVERT = """
import runpy, sys
source, folder, out = sys.argv[1:4]
sys.path[:0] = [source + "/gguf-py", source]
import conversion.base
conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "llama-bpe"
sys.argv = ["convert_hf_to_gguf.py", folder, "--outfile", out, "--outtype", "f32"]
runpy.run_path(source + "/convert_hf_to_gguf.py", run_name="__main__")
"""


@pytest.mark.slow
@pytest.mark.parametrize("architecture", sorted(registered()))
def test_tensors_match_llama_cpp_converter(
    architecture: str,
    tiny_models: dict[str, Path],
    f32_ggufs: dict[str, Path],
    tmp_path: Path,
    llama_cpp_source: Path,
) -> None:
    import subprocess
    import sys

    import gguf

    source = str(llama_cpp_source)
    name = _tiny_name(architecture)
    theirs_path = tmp_path / "llama-cpp.gguf"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _LLAMA_CPP_CONVERT,
            source,
            str(tiny_models[name]),
            str(theirs_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = {t.name: t for t in gguf.GGUFReader(theirs_path).tensors}
    ours = {t.name: t for t in gguf.GGUFReader(f32_ggufs[name]).tensors}
    assert set(theirs) == set(ours)
    for tensor, mine in ours.items():
        assert theirs[tensor].tensor_type == mine.tensor_type, tensor
        expected, got = np.asarray(theirs[tensor].data), np.asarray(mine.data)
        if architecture == "Gemma3ForCausalLM" and tensor == "token_embd.weight":
            # llama.cpp's gemma3 cuts the rows past a tokenizer.json's own vocabulary while it
            # writes the token list padded to vocab_size, and its file does not load; ours keeps
            # them (padding tokens, UNUSED). The rows it keeps are the same bytes.
            got = got[: len(expected)]
        assert np.array_equal(expected, got), tensor
