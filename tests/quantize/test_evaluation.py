"""The quality figures, on logits whose answer is known."""

from __future__ import annotations

import math

import numpy as np

from quantize.evaluation import compare, evaluation_text, windows


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
