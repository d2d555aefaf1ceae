"""edgemed-quantize: convert time and peak memory against model size, quantize time per type,
and the quality tables (GGUF quants and ONNX variants against the PyTorch source) for SmolLM2
and for a random llama whose weights are on no quantization grid.

References measured in the same run: reading the source weights once (sha256) for convert time,
the source weights' size for peak memory, the f16 GGUF write for each quant, ONNX fp32 for the
ONNX speeds. Models: the SmolLM2-135M HF folder made from the catalog GGUF (see
tests/quantize/roundtrip.py) and a larger random llama made here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CONVERT = """
import json, sys, time
from pathlib import Path
from quantize.gguf_export import write_gguf
from quantize.source import open_source
def peak_rss():
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
started = time.perf_counter()
write_gguf(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
source = open_source(Path(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_rss": peak_rss(),
                  "weights": source.weight_bytes, "largest": source.largest_tensor_bytes}))
"""


def _convert_in_child(source: Path, out: Path, outtype: str) -> dict[str, float]:
    """Run one conversion in a fresh process, so its peak RSS is the converter's own."""
    done = subprocess.run(
        [sys.executable, "-c", _CONVERT, str(source), str(out), outtype],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _read_once(source: Path) -> float:
    from edgemed.catalog.checks import sha256_of

    started = time.perf_counter()
    for file in sorted(source.glob("*.safetensors")):
        sha256_of(file)
    return time.perf_counter() - started


def _mb(count: float) -> str:
    return f"{count / 1024**2:.0f} MB"


def convert_and_quantize(name: str, source: Path, work: Path) -> None:
    from quantize.ladder import quantize_gguf

    reference = _read_once(source)
    f32 = _convert_in_child(source, work / f"{name}-f32.gguf", "f32")
    f16 = _convert_in_child(source, work / f"{name}-f16.gguf", "f16")
    print(
        f"{name}: weights {_mb(f32['weights'])}, largest tensor {_mb(f32['largest'])}; "
        f"read+sha256 {reference:.2f} s"
    )
    for label, run in (("f32", f32), ("f16", f16)):
        print(
            f"  convert -> {label}: {run['seconds']:.2f} s "
            f"({run['seconds'] / reference:.1f}x read), "
            f"peak RSS {_mb(run['peak_rss'])} = {run['peak_rss'] / run['weights']:.2f}x weights, "
            f"{run['peak_rss'] / run['largest']:.1f}x largest tensor"
        )
    log = work / "llama.cpp.log"
    for quant in ("q8_0", "q6_k", "q5_k_m", "q4_k_m"):
        started = time.perf_counter()
        out = quantize_gguf(
            work / f"{name}-f16.gguf", work / f"{name}-{quant}.gguf", quant, log=log
        )
        seconds = time.perf_counter() - started
        print(
            f"  quantize f16 -> {quant}: {seconds:.2f} s ({seconds / f16['seconds']:.2f}x the f16 "
            f"convert), {_mb(out.stat().st_size)}"
        )


def _cached(run):  # type: ignore[no-untyped-def]
    cache: dict[tuple[int, ...], object] = {}

    def reference(chunk: list[int]):  # type: ignore[no-untyped-def]
        key = tuple(chunk)
        if key not in cache:
            cache[key] = run(chunk)
        return cache[key]

    return reference


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("model.onnx*"))


def quality_table(name: str, source: Path, work: Path, tokens: int = 1024) -> None:
    """GGUF quants and every ONNX variant against the PyTorch f32 source, on quantize/data.

    ONNX rows: fp32; the shipped int8 (MatMulNBits 8-bit blocks of 32, output layer 8-bit,
    embedding fp16); the same with the embedding left f32; the former int8 (quantize_dynamic, kept
    only to be measured here); int4 in blocks of 32 (the shipped default) and of 128.
    """
    from quantize import evaluation
    from quantize.onnx_export import export_fp32, quantize_dynamic_int8, quantize_onnx

    ids = evaluation.text_ids(source, tokens)
    reference = _cached(evaluation.torch_logits(source))
    print(f"{name} quality vs its PyTorch f32 source, {len(ids)} tokens of quantize/data:")
    print("  | artifact | size | perplexity | KLD | same top token | tok/s |")
    source_ppl = evaluation.compare(reference, reference, ids).perplexity
    weights = sum(p.stat().st_size for p in source.glob("*.safetensors"))
    print(f"  | source (PyTorch f32) | {_mb(weights)} | {source_ppl:.3f} | 0 | 100% | - |")
    for quant in ("f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m"):
        path = work / f"{name}-{quant}.gguf"
        run, speed = evaluation.gguf_logits(path, threads=2)
        quality = evaluation.compare(reference, run, ids)
        print(
            f"  | gguf {quant} | {_mb(path.stat().st_size)} | {quality.perplexity:.3f} | "
            f"{quality.kld:.5f} | {quality.same_top:.1%} | {speed():.1f} |",
            flush=True,
        )
    fp32 = export_fp32(source, work / f"{name}-onnx-fp32")
    variants: dict[str, Path] = {"fp32": fp32}
    variants["int8 (shipped: MatMulNBits 8-bit, block 32, lm_head 8-bit, embedding fp16)"] = (
        quantize_onnx(fp32, work / f"{name}-onnx-int8", "int8")
    )
    variants["int8, embedding f32"] = quantize_onnx(
        fp32, work / f"{name}-onnx-int8-f32emb", "int8", fp16_embedding=False
    )
    variants["int8 dynamic (quantize_dynamic, the former int8)"] = quantize_dynamic_int8(
        fp32, work / f"{name}-onnx-int8-dynamic"
    )
    variants["int4 (shipped: MatMulNBits 4-bit, block 32, lm_head 8-bit, embedding fp16)"] = (
        quantize_onnx(fp32, work / f"{name}-onnx-int4", "int4")
    )
    variants["int4, block 128"] = quantize_onnx(
        fp32, work / f"{name}-onnx-int4-b128", "int4", block_size=128
    )
    fp32_speed = 0.0
    for label, folder in variants.items():
        run, speed = evaluation.onnx_logits(folder)
        quality = evaluation.compare(reference, run, ids)
        tokens_per_s = max(speed(), speed())  # best of two: the machine is shared
        fp32_speed = fp32_speed or tokens_per_s
        print(
            f"  | onnx {label} | {_mb(_folder_size(folder))} | {quality.perplexity:.3f} | "
            f"{quality.kld:.5f} | {quality.same_top:.1%} | {tokens_per_s:.1f} "
            f"({tokens_per_s / fp32_speed:.2f}x fp32) |",
            flush=True,
        )
        del run, speed


def _estimates(name: str, source: Path, work: Path) -> None:
    """formats.onnx_bytes against the files just written (the disk check's prediction)."""
    from quantize.architectures import read_hyperparameters
    from quantize.formats import onnx_bytes
    from quantize.source import open_source

    model = open_source(source)
    hp = read_hyperparameters(model.config, model.architecture)
    tied = bool(model.config.get("tie_word_embeddings", False))
    for variant in ("fp32", "int8", "int4"):
        folder = work / f"{name}-onnx-{variant}"
        predicted = onnx_bytes(model.parameter_count, variant, hp.vocab_size * hp.hidden, tied)
        actual = _folder_size(folder)
        print(
            f"  {name} onnx {variant}: estimated {_mb(predicted)}, written {_mb(actual)} "
            f"({predicted / actual:.2f}x)"
        )


def off_grid_copy(source: Path, folder: Path, seed: int = 0) -> Path:
    """The same model with every 2-D weight moved off its quantization grid.

    SmolLM2's HF folder is a dequantized Q4_1: each block of 32 weights holds 16 values, a grid
    that no second quantizer lands on, which is unfair to int4. Uniform noise of +-half a Q4_1
    step per block spreads each block evenly over its range: a working model (its own
    perplexity is in the table) whose weights sit on no grid, as a trained model's do.
    """
    import shutil

    import numpy as np
    from safetensors.numpy import load_file, save_file

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for item in source.iterdir():
        if item.is_file() and item.suffix != ".safetensors":
            shutil.copy2(item, folder / item.name)
    rng = np.random.default_rng(seed)
    for file in sorted(source.glob("*.safetensors")):
        tensors = load_file(file)
        for name, weight in tensors.items():
            if weight.ndim != 2 or weight.shape[1] % 32:
                continue
            blocks = weight.astype(np.float32).reshape(weight.shape[0], -1, 32)
            step = (blocks.max(-1, keepdims=True) - blocks.min(-1, keepdims=True)) / 15
            noise = rng.uniform(-0.5, 0.5, blocks.shape).astype(np.float32) * step
            tensors[name] = (blocks + noise).reshape(weight.shape).astype(weight.dtype)
        save_file(tensors, str(folder / file.name), metadata={"format": "pt"})
    return folder


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.inference.model_cache import install_default_once, shared_models_root
    from tests.quantize.roundtrip import hf_folder_from_gguf
    from tests.quantize.tiny_models import make_model

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        original = install_default_once().entry_point
        smollm2 = hf_folder_from_gguf(original, shared_models_root() / "smollm2-135m-hf-from-gguf")
        larger = make_model(
            work / "larger-llama", "llama", hidden=1024, layers=8, heads=16, kv_heads=4, vocab=32000
        )
        print(f"load average at the start: {os.getloadavg()}", flush=True)
        off_grid = off_grid_copy(smollm2, work / "smollm2-off-grid")
        convert_and_quantize("smollm2", smollm2, work)
        convert_and_quantize("larger-llama", larger, work)
        convert_and_quantize("smollm2-off-grid", off_grid, work)
        # SmolLM2's weights sit on its GGUF's Q4_1 grid; the off-grid copy's and the random
        # llama's are on none (the random llama is chaotic: see docs/benchmarks.md).
        quality_table("smollm2", smollm2, work)
        quality_table("smollm2-off-grid", off_grid, work)
        quality_table("larger-llama", larger, work)
        for name, source in (
            ("smollm2", smollm2),
            ("smollm2-off-grid", off_grid),
            ("larger-llama", larger),
        ):
            _estimates(name, source, work)
        print(f"load average at the end: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
