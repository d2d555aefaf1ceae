"""The GPU path, end to end, for a machine with an NVIDIA GPU: ``python -m bench gpu``.

By hand only (BY_HAND): it needs llama-cpp-python built with GPU offload
(``CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python``)
and a few GB of memory. Without GPU support it says so and stops (exit 0). Under 5 minutes on one
H200 with 16 cores:

1. a random llama of TinyLlama-1.1B's shape (hidden 2048, 22 layers, 32 heads, 4 KV heads,
   vocabulary 32000), made by tests/quantize/tiny_models.py and converted to an f16 GGUF by
   edgemed-quantize's writer, in a child process (torch stays out of this one: a CUDA torch and a
   CUDA llama.cpp in one process crash);
2. quantized to Q4_K_M by llama.cpp's quantizer;
3. edgemed's LlamaCppEngine on the GPU (all layers) against the CPU (physical cores): prefill of
   a 300-token and a ~5,800-token prompt, decode of 128 greedy tokens;
4. a cancel during the long prompt on each: how long the stop took, and the engine usable after.

Prints a table; record it in docs/benchmarks.md.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BY_HAND = True

SHAPE = {"hidden": 2048, "layers": 22, "heads": 32, "kv_heads": 4, "vocab": 32000}
SHORT_PROMPT = 300
LONG_PROMPT = 5800
DECODE_TOKENS = 128
CONTEXT = 8192
CANCEL_AFTER_S = 0.1

_BUILD = """
import sys, time
from pathlib import Path
from quantize.gguf_export import write_gguf
from tests.quantize.tiny_models import make_model

out = Path(sys.argv[1])
started = time.perf_counter()
source = make_model(out / "tinyllama-shape", "llama", **{shape!r})
made = time.perf_counter()
write_gguf(source, out / "model-f16.gguf", "f16")
print(f"made {{made - started:.1f}} s, converted {{time.perf_counter() - made:.1f}} s", flush=True)
"""


def gpu_support() -> str:
    """ "" when llama.cpp can offload to a GPU here, else why not."""
    try:
        import llama_cpp
    except ImportError:
        return "llama-cpp-python is not installed"
    if not llama_cpp.llama_supports_gpu_offload():
        return (
            "this llama-cpp-python has no GPU offload; rebuild it with "
            'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir '
            "llama-cpp-python"
        )
    return ""


def _prompt(count: int, vocab: int, seed: int) -> list[int]:
    import random

    rng = random.Random(seed)
    return [rng.randrange(3, vocab) for _ in range(count)]  # 0-2 are BOS/EOS/padding


def _generate(engine: Any, tokens: list[int], max_tokens: int) -> tuple[float, float, int]:
    """(prefill tok/s, decode tok/s, tokens generated) through the engine's own loop."""
    llama = engine._begin()
    for _piece in engine._pieces(llama, tokens, max_tokens, 0.0, None, None):
        pass
    stats = engine.last_generation
    return len(tokens) / stats.first_token_s, stats.decode_tokens_per_s, stats.generated_tokens


def _cancel_during_prefill(engine: Any, tokens: list[int]) -> tuple[float, bool]:
    """Seconds from cancel() to the stop, during the long prompt; whether nothing was generated."""
    llama = engine._begin()
    pieces: list[str] = []
    worker = threading.Thread(
        target=lambda: pieces.extend(engine._pieces(llama, tokens, 8, 0.0, None, None))
    )
    worker.start()
    time.sleep(CANCEL_AFTER_S)
    asked = time.perf_counter()
    engine.cancel()
    worker.join(timeout=30)
    stopped = time.perf_counter() - asked
    return stopped, not pieces


def _measure(path: Path, gpu_layers: int, threads: int) -> dict[str, float]:
    from edgemed.inference import EngineSettings
    from edgemed.inference.llama import LlamaCppEngine

    settings = EngineSettings(threads=threads, context=CONTEXT, gpu_layers=gpu_layers)
    engine = LlamaCppEngine(path, settings, model_id="tinyllama-shape-q4_k_m")
    started = time.perf_counter()
    engine.load()
    row: dict[str, float] = {"load_s": time.perf_counter() - started}
    vocab = SHAPE["vocab"]
    best = (0.0, 0.0, 0)
    for repeat in range(3):
        result = _generate(engine, _prompt(SHORT_PROMPT, vocab, repeat), DECODE_TOKENS)
        best = (max(best[0], result[0]), max(best[1], result[1]), result[2])
    row["prefill_300_tps"], row["decode_tps"], row["generated"] = best
    long_prefill, _decode, _count = _generate(engine, _prompt(LONG_PROMPT, vocab, 9), 1)
    row["prefill_long_s"] = LONG_PROMPT / long_prefill
    stopped, clean = _cancel_during_prefill(engine, _prompt(LONG_PROMPT, vocab, 10))
    row["cancel_ms"] = stopped * 1000
    row["cancel_clean"] = float(clean)
    # Usable after the cancel: a short generation still produces tokens.
    row["usable_after"] = float(_generate(engine, _prompt(32, vocab, 11), 8)[2] > 0)
    engine.close()
    return row


def main() -> None:
    why = gpu_support()
    if why:
        print(f"bench gpu: no GPU path to measure: {why}. Nothing to do.")
        return
    from edgemed.hardware import gather_facts
    from quantize.ladder import quantize_gguf

    facts = gather_facts()
    print(f"machine: {facts.cpu_model}, {facts.physical_cores} cores; GPUs: {facts.gpus}")
    root = Path(__file__).parents[1]
    with tempfile.TemporaryDirectory(prefix="edgemed-bench-gpu-") as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", _BUILD.format(shape=SHAPE), str(out)], check=True, cwd=root
        )
        print(f"random 1.1B llama + f16 GGUF: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        q4 = quantize_gguf(out / "model-f16.gguf", out / "model-q4_k_m.gguf", "q4_k_m")
        size_mb = q4.stat().st_size / 2**20
        print(f"q4_k_m: {time.perf_counter() - started:.1f} s, {size_mb:.0f} MB")
        (out / "model-f16.gguf").unlink()
        threads = max(1, facts.physical_cores)
        rows = {
            "GPU (all layers)": _measure(q4, 999, threads),
            f"CPU ({threads} threads)": _measure(q4, 0, threads),
        }
    columns = list(next(iter(rows.values())))
    print("| engine | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in columns) + " |")
    gpu, cpu = rows.values()
    print(
        f"GPU/CPU: prefill {gpu['prefill_300_tps'] / cpu['prefill_300_tps']:.1f}x, "
        f"decode {gpu['decode_tps'] / max(cpu['decode_tps'], 1e-9):.1f}x; "
        f"cancel during a {LONG_PROMPT}-token prompt: {gpu['cancel_ms']:.0f} ms (GPU), "
        f"{cpu['cancel_ms']:.0f} ms (CPU)"
    )


if __name__ == "__main__":
    main()
