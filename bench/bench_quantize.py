"""edgemed-quantize: convert time and peak memory against model size, quantize time per type,
ONNX fp32 / int8 / int4 speed, and the SmolLM2 quality table.

References measured in the same run: reading the source weights once (sha256) for convert time,
the source weights' size for peak memory, the f16 GGUF write for each quant, ONNX fp32 for the
ONNX speeds. Models: the SmolLM2-135M HF folder made from the catalog GGUF (see
tests/quantize/roundtrip.py) and a larger random llama made here.
"""

from __future__ import annotations

import json
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


def quality_table(source: Path, work: Path) -> None:
    from quantize import evaluation

    ids = evaluation.text_ids(source, 1024)
    torch_run = evaluation.torch_logits(source)
    cache: dict[tuple[int, ...], object] = {}

    def reference(chunk: list[int]):  # type: ignore[no-untyped-def]
        key = tuple(chunk)
        if key not in cache:
            cache[key] = torch_run(chunk)
        return cache[key]

    print(f"SmolLM2-135M quality vs its PyTorch f32 source, {len(ids)} tokens of quantize/data:")
    print("  | artifact | size | perplexity | KLD | same top token | tok/s |")
    for quant in ("f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m"):
        path = work / f"smollm2-{quant}.gguf"
        run, speed = evaluation.gguf_logits(path, threads=2)
        quality = evaluation.compare(reference, run, ids)
        print(
            f"  | gguf {quant} | {_mb(path.stat().st_size)} | {quality.perplexity:.3f} | "
            f"{quality.kld:.5f} | {quality.same_top:.1%} | {speed():.1f} |"
        )
    onnx_speeds: dict[str, float] = {}
    from quantize.onnx_export import export_fp32, quantize_onnx

    fp32 = export_fp32(source, work / "smollm2-onnx-fp32")
    folders = {"fp32": fp32}
    for variant in ("int8", "int4"):
        folders[variant] = quantize_onnx(fp32, work / f"smollm2-onnx-{variant}", variant)
    for variant, folder in folders.items():
        run, speed = evaluation.onnx_logits(folder)
        quality = evaluation.compare(reference, run, ids)
        onnx_speeds[variant] = speed()
        size = sum(p.stat().st_size for p in folder.glob("model.onnx*"))
        print(
            f"  | onnx {variant} | {_mb(size)} | {quality.perplexity:.3f} | {quality.kld:.5f} | "
            f"{quality.same_top:.1%} | {onnx_speeds[variant]:.1f} "
            f"({onnx_speeds[variant] / onnx_speeds['fp32']:.2f}x fp32) |"
        )


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
        convert_and_quantize("smollm2", smollm2, work)
        convert_and_quantize("larger-llama", larger, work)
        quality_table(smollm2, work)


if __name__ == "__main__":
    main()
