"""The quality figures, on logits whose answer is known."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from quantize.errors import QuantizeError
from quantize.evaluation import (
    WINDOW,
    compare,
    evaluation_text,
    gguf_logits,
    text_ids,
    torch_logits,
    windows,
)
from quantize.gguf_logits import GgufLogits


def test_identical_artifact_has_zero_divergence() -> None:
    rng = np.random.default_rng(0)
    table = rng.normal(size=(300, 50)).astype(np.float32)
    ids = list(rng.integers(0, 50, size=300))
    same = compare(lambda c: table[: len(c)], lambda c: table[: len(c)], ids)
    assert same.kld < 1e-12 and same.same_top == 1.0


def test_known_divergence_and_perplexity() -> None:
    # Source: P = (0.5, 0.5); artifact: Q = (0.9, 0.1). KL(P||Q) = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1)
    source = np.log(np.array([[0.5, 0.5]] * 4))
    artifact = np.log(np.array([[0.9, 0.1]] * 4))
    quality = compare(lambda c: source, lambda c: artifact, [0, 0, 1, 0])
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert abs(quality.kld - expected) < 1e-9
    # targets 0, 1, 0 -> perplexity exp(-(ln .9 + ln .1 + ln .9) / 3)
    assert abs(quality.perplexity - math.exp(-(2 * math.log(0.9) + math.log(0.1)) / 3)) < 1e-9
    assert quality.tokens == 3


def test_evaluation_text_is_multilingual_and_windows_cover_it() -> None:
    text = evaluation_text()
    for word in ("patient", "infirmier", "paciente", "doentes", "mgonjwa"):
        assert word in text
    ids = list(range(300))
    assert sum(len(w) - 1 for w in windows(ids, 128)) == 299 - 2  # each window predicts its tail


@pytest.fixture(scope="module")
def f16_llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny random llama and its f16 GGUF (the divergence is small but not zero)."""
    from quantize.gguf_export import write_gguf
    from tests.quantize.tiny_models import make_model

    folder = tmp_path_factory.mktemp("eval-child")
    source = make_model(folder / "llama", "llama")
    write_gguf(source, folder / "llama-f16.gguf", "f16")
    return source, folder / "llama-f16.gguf"


def _in_process_logits(path: Path) -> Callable[[list[int]], np.ndarray]:
    """What evaluate did before the child process: llama.cpp in this very process."""
    import llama_cpp

    model = llama_cpp.Llama(str(path), n_ctx=WINDOW * 2, logits_all=True, verbose=False)

    def run(ids: list[int]) -> np.ndarray:
        model.reset()
        model.eval(ids)
        return np.asarray(model.scores[: len(ids)], dtype=np.float32)

    return run


def test_child_process_gives_the_same_divergence(f16_llama: tuple[Path, Path]) -> None:
    source_dir, gguf = f16_llama
    ids = text_ids(source_dir, 300)
    source = torch_logits(source_dir)
    before = compare(source, _in_process_logits(gguf), ids)
    with gguf_logits(gguf) as child:
        after = compare(source, child.logits, ids)
        assert child.speed() > 0
    assert before.kld > 0
    assert abs(after.kld - before.kld) < 1e-6
    assert abs(after.perplexity - before.perplexity) < 1e-6
    assert after.same_top == before.same_top and after.tokens == before.tokens


def test_evaluate_never_imports_llama_cpp_in_its_own_process(f16_llama: tuple[Path, Path]) -> None:
    """The builder's process holds torch; a CUDA torch and a CUDA llama.cpp in one crash."""
    source_dir, gguf = f16_llama
    script = f"""
import json, sys
from pathlib import Path
from quantize.build import evaluate_artifacts
from quantize.bundle import BuiltArtifact

item = BuiltArtifact("llama-f16", "gguf", "f16", Path({str(gguf)!r}))
evaluate_artifacts(Path({str(source_dir)!r}), [item], 0.1, 300, lambda line: None)
print(json.dumps({{"llama_cpp": "llama_cpp" in sys.modules, "torch": "torch" in sys.modules,
                   "metrics": item.metrics}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["torch"] is True
    assert report["llama_cpp"] is False
    assert report["metrics"]["eval_tokens"] > 0 and report["metrics"]["tokens_per_s"] > 0


def test_child_failure_is_a_quantize_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf at all")
    with pytest.raises(QuantizeError, match=r"broken\.gguf"):
        GgufLogits(broken, n_ctx=WINDOW * 2)


def test_child_that_does_not_answer_is_stopped(f16_llama: tuple[Path, Path]) -> None:
    with pytest.raises(QuantizeError, match="took over"):
        GgufLogits(f16_llama[1], n_ctx=WINDOW * 2, load_timeout=0.01)
