"""Run every benchmark: ``python -m bench [NAME ...]`` (``make bench`` runs them all).

Each ``bench/bench_<name>.py`` has a ``main() -> None`` that prints its figures, always as a ratio
against a reference measured in the same run. Record results in docs/benchmarks.md.
A module that sets ``BY_HAND = True`` (slow, needs root: the emulated aarch64 run) runs only when
named.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def _by_hand(name: str) -> bool:
    source = (Path(__file__).parent / f"bench_{name}.py").read_text(encoding="utf-8")
    return "\nBY_HAND = True" in source


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    wanted = argv or [n for n in names if not _by_hand(n)]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        return 2
    for name in wanted:
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.bench_{name}").main()
        print(f"== bench {name} done in {time.perf_counter() - started:.1f} s\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
