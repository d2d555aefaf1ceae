"""Which GGUF types llama.cpp repacks on a CPU (quantize/repacking.py), checked against llama.cpp
itself on this machine, and the recipes that put the repacked types first."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from quantize import recipes
from quantize.cli import cli, main
from quantize.formats import GGUF_TYPES
from quantize.repacking import MAIN_TYPE, MIX_TYPE, block_layout, repacking

# llama.cpp's log line for each repacked tensor: "repack tensor blk.0.attn_q.weight with q4_0_8x8"
_REPACKED = re.compile(r"repack tensor (\S+) with (\w+?)_(\d+x\d+)")
CHECKED = ("q4_0", "iq4_nl", "q4_1", "q4_k_m", "q5_k_m", "q8_0")


def _this_cpu() -> frozenset[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@pytest.fixture(scope="module")
def quantized(wide_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from quantize.gguf_export import write_gguf
    from quantize.ladder import quantize_gguf

    out = tmp_path_factory.mktemp("repack")
    base = out / "base.f16.gguf"
    write_gguf(wide_llama, base, "f16")
    log = out / "llama.cpp.log"
    return {q: quantize_gguf(base, out / f"{q}.gguf", q, 2, log=log) for q in CHECKED}


def _repacked_by_llama_cpp(path: Path, caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """{block type: layout} of the tensors llama.cpp repacked when it loaded ``path`` here."""
    from edgemed.inference import EngineSettings
    from edgemed.inference.llama import LlamaCppEngine

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="edgemed.inference.llama"):
        engine = LlamaCppEngine(path, EngineSettings(2, 256, 0, 64))
        engine.load()
        engine.close()
    found: dict[str, str] = {}
    for record in caplog.records:
        match = _REPACKED.search(record.getMessage())
        if match:
            found[match.group(2).upper()] = match.group(3)
    return found


@pytest.mark.parametrize("gguf_type", CHECKED)
def test_llama_cpp_repacks_what_the_table_says_on_this_cpu(
    gguf_type: str, quantized: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    features = _this_cpu()
    seen = _repacked_by_llama_cpp(quantized[gguf_type], caplog)
    expected = repacking(gguf_type, features)
    blocks = {expected.block_type, MIX_TYPE.get(gguf_type, expected.block_type)}
    wanted = {b: block_layout(b, features)[0] for b in blocks if block_layout(b, features)[0]}
    assert seen == wanted, (gguf_type, sorted(features & {"avx2", "avx512f", "asimddp", "i8mm"}))


def test_this_machine_is_a_real_check() -> None:
    """The x86 rows are what runs here: on an AVX2 machine Q4_0 must be repacked, Q4_1 never."""
    features = _this_cpu()
    if "avx2" in features:
        assert repacking("q4_0", features).layout == "8x8"
        assert repacking("iq4_nl", features).layout == "8x8"
        assert not repacking("q8_0", features).repacked  # Arm only
    assert not repacking("q4_1", features).repacked
    assert not repacking("f16", features).repacked


def test_arm_rows() -> None:
    pi4, pi5 = frozenset({"asimd"}), frozenset({"asimd", "asimddp"})
    assert not any(repacking(t, pi4).repacked for t in MAIN_TYPE)
    assert {t for t in MAIN_TYPE if repacking(t, pi5).repacked} == {
        "q4_0", "iq4_nl", "q4_k_m", "q5_k_m", "q6_k", "q8_0"
    }  # fmt: skip
    assert repacking("q4_0", pi5 | {"i8mm"}).layout == "4x8"


def test_every_recipe_lists_known_types_fastest_first() -> None:
    for name in recipes.names():
        recipe = recipes.load(name)
        assert recipe.why and recipe.cpu_features, name
        assert all(t in GGUF_TYPES and t in MAIN_TYPE for t in recipe.gguf), name
        packed = [recipe.repacking(t).repacked for t in recipe.gguf]
        if any(packed):  # the types this CPU repacks come before the ones it reads as stored
            assert packed == sorted(packed, reverse=True), (name, recipe.gguf)


def test_recipes_command_says_what_is_repacked(capsys: pytest.CaptureFixture[str]) -> None:
    result = CliRunner().invoke(cli, ["recipes", "pi5"])
    assert result.exit_code == 0, result.output
    assert "q4_0: llama.cpp repacks it here (4x4, with asimd, asimddp)" in result.output
    assert "Why:" in result.output
    laptop = CliRunner().invoke(cli, ["recipes", "laptop-8gb"]).output
    assert "its Q6_K tensors are read as stored" in laptop
    assert "q8_0: read as stored here" in laptop
    jetson = CliRunner().invoke(cli, ["recipes", "jetson-orin-nano"]).output
    assert "read as stored on the GPU" in jetson
    with pytest.raises(SystemExit) as ended:
        main(["recipes", "pi3"])
    assert ended.value.code != 0
    assert "No recipe named pi3" in capsys.readouterr().err
