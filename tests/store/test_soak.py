"""The short version of ``python -m bench soak``: a few kill -9s during saves, exports, backups
and passphrase changes; nothing acknowledged is lost, verify stays intact, one passphrase works."""

from __future__ import annotations

from pathlib import Path

from bench.bench_soak import soak


def test_a_few_kills_during_everything(tmp_path: Path) -> None:
    figures = soak(kills=6, seed=5, folder=tmp_path)
    assert figures.ok, figures
    assert figures.kills == 6 and figures.saves_acknowledged > 0
