"""Decode alone, as llama-bench's tg128 measures it: LlamaCppEngine against llama-bench.

``bench_llama`` measures prefill and decode of each file in one child per side, the decode right
after a 300-token prompt and its reply; llama-bench runs each test in a fresh context. This bench
isolates the decode figure the issue's target is about, procedure for procedure:

- llama-bench: ``-p 0 -n 128 -r 3`` (a one-token warm-up, then 3 x 128 decode steps from an empty
  cache, its context 128 tokens rounded up by llama.cpp);
- the engine, in a fresh child process each round: ``LlamaCppEngine`` at llama-bench's context
  (128 tokens, which llama.cpp rounds up to 256), a 2-token warm-up, then 3 x
  ``run_tokens(one token, 129, ignore_end=True)``: 128 decode steps from an empty cache, greedy as
  the app runs it;
- a bare ctypes loop in a fresh child (``llama_decode`` of one token, ``llama_synchronize``, no
  sampling, nothing of edgemed imported), at the same context: what Python itself costs;
- the engine at the app's context, 4096: what the app gets. Without flash attention llama.cpp
  keeps V transposed, and a decode step reads it contiguously only when the cache is exactly as
  long as the part of it in use (rounded up to 256 cells); in a larger cache a step can cost more,
  whoever calls llama.cpp (the bare loop at 512 measured 0.965-0.975 of llama-bench, at 256
  1.009-1.036; at 4096 0.973-1.001).

Sides alternate each round; medians of all samples and the median of the per-round ratios.
``.venv/bin/python -m bench llama_decode`` (``EDGEMED_BENCH_ROUNDS``, default 8;
``EDGEMED_BENCH_BARE_CONTEXTS="256 512 4096"`` adds the bare loop at those contexts).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
THREADS = 2
DECODE = 128
REPEATS = 3
# llama-bench's context for tg128 (n_prompt + n_gen; llama.cpp rounds it up to 256), and the app's.
CONTEXT = DECODE
APP_CONTEXT = 4096

_BARE = r"""
import ctypes, json, sys, time
import llama_cpp as L
quiet = L.llama_log_callback(lambda level, text, data: None)
L.llama_log_set(quiet, ctypes.c_void_p(0))
L.llama_backend_init()
model = L.llama_model_load_from_file(sys.argv[1].encode(), L.llama_model_default_params())
params = L.llama_context_default_params()
params.n_ctx, params.n_batch, params.n_ubatch = int(sys.argv[2]), 512, 512
params.n_threads = params.n_threads_batch = int(sys.argv[3])
params.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED
ctx = L.llama_init_from_model(model, params)
memory = L.llama_get_memory(ctx)
one = (L.llama_token * 1)(1)
def decode(n):
    L.llama_memory_clear(memory, True)
    started = time.perf_counter()
    for i in range(n):
        one[0] = (i * 7919) % 49152
        L.llama_decode(ctx, L.llama_batch_get_one(one, 1))
        L.llama_synchronize(ctx)
    return n / (time.perf_counter() - started)
decode(1)
print(json.dumps([decode(int(sys.argv[4])) for _ in range(int(sys.argv[5]))]))
"""


def child_decode(path: str, context: int) -> list[float]:
    from edgemed.inference import EngineSettings
    from edgemed.inference.llama import LlamaCppEngine

    engine = LlamaCppEngine(Path(path), EngineSettings(THREADS, context, 0, 512))
    engine.load()
    token = engine.tokenize("Patient")[:1]
    engine.run_tokens(token, 2, ignore_end=True)
    rates = [
        engine.run_tokens(token, DECODE + 1, ignore_end=True).decode_tokens_per_s
        for _ in range(REPEATS)
    ]
    engine.close()
    return rates


def _run(command: list[str], env: dict[str, str], whole: bool = False) -> Any:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return json.loads(result.stdout if whole else result.stdout.strip().splitlines()[-1])


def main() -> None:
    from bench.bench_llama import FLASH_ATTN, llama_bench_binary
    from tests.inference.model_cache import shared_models_root

    root = shared_models_root()
    env = dict(os.environ)
    env.update(EDGEMED_MODELS_DIR=str(root / "models"), EDGEMED_CACHE=str(root / "cache"))
    if "OMP_WAIT_POLICY" not in env and "GOMP_SPINCOUNT" not in env:
        env.update({"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "300"})
    os.environ.update({k: env[k] for k in ("EDGEMED_MODELS_DIR", "EDGEMED_CACHE")})
    from edgemed.catalog import install

    model = str(install("default").entry_point)
    binary = llama_bench_binary()
    rounds = int(os.environ.get("EDGEMED_BENCH_ROUNDS", "8"))
    print(
        f"{Path(model).name}: {THREADS} threads, flash attention {FLASH_ATTN}, "
        f"{rounds} rounds x {REPEATS} x {DECODE} decode steps per side",
        flush=True,
    )
    app_side = f"engine, context {APP_CONTEXT}"
    samples: dict[str, list[float]] = {
        "llama-bench": [],
        "engine": [],
        "bare ctypes loop": [],
        app_side: [],
    }
    # The bare loop at other contexts too (EDGEMED_BENCH_BARE_CONTEXTS="256 512 4096"): what the
    # size of the cache alone does to llama.cpp's decode, with nothing of edgemed in the process.
    bare_at = {
        f"bare loop, context {size}": size
        for size in os.environ.get("EDGEMED_BENCH_BARE_CONTEXTS", "").split()
    }
    samples.update({side: [] for side in bare_at})
    paired: list[float] = []
    sides = list(samples)
    for round_ in range(rounds):
        mine: dict[str, list[float]] = {}
        turn = round_ % len(sides)
        for side in sides[turn:] + sides[:turn]:
            if side == "llama-bench":
                command = [str(binary), "-m", model, "-t", str(THREADS), "-b", "512"]
                command += ["-ub", "512", "-fa", FLASH_ATTN, "-r", str(REPEATS), "-p", "0"]
                command += ["-n", str(DECODE), "-o", "json"]
                mine[side] = _run(command, env, whole=True)[0]["samples_ts"]
            elif side in ("engine", app_side):
                context = str(CONTEXT if side == "engine" else APP_CONTEXT)
                command = [sys.executable, "-m", "bench.bench_llama_decode", model, context]
                mine[side] = _run(command, env)
            else:
                size = bare_at.get(side, str(CONTEXT))
                args = [model, size, str(THREADS), str(DECODE), str(REPEATS)]
                mine[side] = _run([sys.executable, "-c", _BARE, *args], env)
            samples[side] += mine[side]
        paired.append(statistics.median(mine["engine"]) / statistics.median(mine["llama-bench"]))
        print(f"  round {round_ + 1}: engine / llama-bench {paired[-1]:.3f}", flush=True)
    reference = statistics.median(samples["llama-bench"])
    for side, values in samples.items():
        print(
            f"{side:24} tg{DECODE} median {statistics.median(values):6.1f} tok/s "
            f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)}): "
            f"{statistics.median(values) / reference:.3f} of llama-bench"
        )
    ratio = statistics.median(paired)
    print(f"engine / llama-bench, median of the {rounds} rounds' ratios: {ratio:.3f}")


if __name__ == "__main__":
    print(json.dumps(child_decode(sys.argv[1], int(sys.argv[2]))))
