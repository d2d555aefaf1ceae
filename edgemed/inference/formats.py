"""The fastest format of a model on this machine, chosen by measurement (``doctor --bench``).

llama.cpp repacks some formats into the fastest kernels of the CPU it runs on (Q4_0 for AVX2
and Arm dot-product/i8mm, Q8_0 for Arm dot-product/i8mm; the table is in docs/quantize.md), so on
one machine the shipped file is not always the fastest (Q8_0 is read as stored on x86, and is
still faster than the shipped Q4_1 there). This module:

1. makes the candidates from the shipped file with llama.cpp's own quantizer
   (``llama_model_quantize``, requantizing; no torch, no ``quantize`` package);
2. measures each through the engine the app uses (:class:`LlamaCppEngine`): prefill of a
   300-token prompt and greedy decode, the median of a few rounds over all the files;
3. gates quality: the mean KL divergence of each candidate's next-token distributions from the
   shipped file's, over every position of a few fixed prompts, must stay under the catalog's
   ``derived_kld_max`` for that model (no threshold: only the shipped file may be kept);
4. keeps the candidate with the shortest time for a 300-token prompt plus 128 generated tokens,
   records it (sha256, size, the measurements) in the model's folder
   (:mod:`edgemed.catalog.derived`) and deletes the others. :func:`edgemed.catalog.vouch_for`
   then resolves the model's id to that file, checked by its sha256 like any model file.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 on older Pi OS images
    import tomli as tomllib

from edgemed.catalog import InstalledModel, catalog_file, find_installed, sha256_of, vouch_for
from edgemed.catalog.derived import DERIVED_FOLDER, DerivedFormat, write_choice
from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.inference.engine import EngineSettings

# The formats tried beside the shipped one, and llama.cpp's file type for each.
CANDIDATES = {"Q4_0": 2, "Q8_0": 7}  # LLAMA_FTYPE_MOSTLY_Q4_0, LLAMA_FTYPE_MOSTLY_Q8_0
PROMPT_TOKENS = 300
WORKLOAD_DECODE = 128  # the decode length the choice is made for (a short handover note)
SHIPPED = "shipped"
# Fixed prompts for the quality gate: clinic wording of the kind the app sends.
GATE_PROMPTS = (
    "Patient seen today with two days of fever, headache and body aches; no rash, drinking "
    "well, passing urine, walked in unaided with her mother. Temperature 38.9, pulse 104.",
    "Handover note. A 3 year old child with diarrhoea since yesterday, sunken eyes, drinks "
    "eagerly, skin pinch goes back slowly. Plan: oral rehydration and review in one hour.",
    "The nurse asks whether the cough has lasted more than two weeks, whether there is blood "
    "in the sputum, night sweats or weight loss, and whether anyone at home has tuberculosis.",
    "Pregnant woman, 32 weeks, headache and blurred vision since this morning, blood pressure "
    "160 over 110, swelling of the face and hands. Refer urgently to the district hospital.",
)
FILLER = (
    "Patient seen at the clinic today with two days of fever, headache and body aches; "
    "no rash, drinking well, passing urine, walked in unaided with her mother. "
)


class FormatBenchError(EdgemedError):
    """A candidate format could not be made or measured."""


@dataclass
class Measured:
    """One candidate's figures on this machine."""

    quant: str
    path: Path
    size: int
    prefill_tps: float = 0.0
    decode_tps: float = 0.0
    first_token_s: float = 0.0
    kld: float = 0.0
    passed: bool = True
    note: str = ""

    @property
    def workload_s(self) -> float:
        """Seconds for a 300-token prompt plus 128 generated tokens at the measured speeds."""
        if self.prefill_tps <= 0 or self.decode_tps <= 0:
            return float("inf")
        return PROMPT_TOKENS / self.prefill_tps + WORKLOAD_DECODE / self.decode_tps


@dataclass
class FormatChoice:
    model_id: str
    threshold: float | None
    measured: list[Measured] = field(default_factory=list)
    chosen: Measured | None = None
    recorded: DerivedFormat | None = None


Report = Callable[[str], None]


def kld_threshold(model_id: str) -> float | None:
    """``derived_kld_max`` of the model's catalog entry (None: no derived format is allowed)."""
    try:
        raw = tomllib.loads(catalog_file().read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    for entry in raw.get("models", []):
        if entry.get("id") == model_id and "derived_kld_max" in entry:
            return float(entry["derived_kld_max"])
    return None


def quantize_file(source: Path, target: Path, quant: str, threads: int) -> None:
    """Write ``target`` as ``quant`` made from ``source`` by llama.cpp's quantizer."""
    # First: the OpenMP wait policy and llama.cpp's logging (to ours, not stderr) are set there.
    from edgemed.inference.llama import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = CANDIDATES[quant]
    params.allow_requantize = True
    params.nthread = max(1, threads)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    result = llama_cpp.llama_model_quantize(
        str(source).encode("utf-8"), str(partial).encode("utf-8"), params
    )
    if result != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise FormatBenchError(
            _("llama.cpp could not make {quant} from {file} (error {code}).").format(
                quant=quant, file=source, code=result
            )
        )
    partial.replace(target)


def _prompt(engine: object) -> list[int]:
    from edgemed.inference.llama import LlamaCppEngine

    assert isinstance(engine, LlamaCppEngine)
    return engine.tokenize(FILLER * 40)[:PROMPT_TOKENS]


def measure_once(
    path: Path, settings: EngineSettings, *, decode_tokens: int = 64
) -> tuple[float, float, float]:
    """(prefill tok/s, decode tok/s, first-token s) of ``path`` through the app's engine: a
    300-token prompt from an empty cache, then ``decode_tokens`` greedy tokens."""
    from edgemed.inference.llama import LlamaCppEngine

    engine = LlamaCppEngine(path, settings)
    engine.load()
    try:
        tokens = _prompt(engine)
        engine.run_tokens(tokens[:16], 4, ignore_end=True)  # warm-up: page the weights in
        stats = engine.run_tokens(tokens, decode_tokens, ignore_end=True)
    finally:
        engine.close()
    return len(tokens) / stats.first_token_s, stats.decode_tokens_per_s, stats.first_token_s


def gate_log_probs(path: Path, settings: EngineSettings) -> list[object]:
    """Next-token log-probabilities of ``path`` at every position of the gate prompts."""
    from edgemed.inference.llama import LlamaCppEngine

    engine = LlamaCppEngine(path, settings)
    engine.load()
    try:
        return [engine.log_probs(engine.tokenize(text)) for text in GATE_PROMPTS]
    finally:
        engine.close()


def mean_kld(reference: list[object], candidate: list[object]) -> float:
    """Mean over all positions of KL(reference || candidate), in nats."""
    import numpy as np

    total, positions = 0.0, 0
    for p_log, q_log in zip(reference, candidate, strict=True):
        p_rows, q_rows = np.asarray(p_log), np.asarray(q_log)
        total += float((np.exp(p_rows) * (p_rows - q_rows)).sum())
        positions += p_rows.shape[0]
    return total / max(1, positions)


def choose_format(
    model_id: str,
    settings: EngineSettings,
    *,
    report: Report | None = None,
    candidates: tuple[str, ...] = tuple(CANDIDATES),
    decode_tokens: int = 64,
    repeats: int = 5,
    record: bool = True,
) -> FormatChoice:
    """Make, measure and gate the candidate formats of an installed model; keep the fastest."""
    say = report or (lambda _message: None)
    installed: InstalledModel = find_installed(model_id)
    shipped = vouch_for(installed.artifact.id, derived=False)
    artifact = shipped.artifact or installed.artifact
    if artifact.format != "gguf" or len(artifact.files) != 1:
        raise FormatBenchError(
            _("{id} is not a single GGUF file: there is no other format to try.").format(
                id=artifact.id
            )
        )
    threshold = kld_threshold(artifact.id)
    choice = FormatChoice(artifact.id, threshold)
    folder = installed.directory / DERIVED_FOLDER
    stem = Path(artifact.files[0].path).stem
    # The measurement needs room for the prompt and the generated tokens only.
    bench = EngineSettings(settings.threads, 1024, settings.gpu_layers, settings.batch)
    files = [Measured(SHIPPED, shipped.path, shipped.path.stat().st_size)]
    for quant in candidates:
        if quant == artifact.quant.upper():
            continue
        target = folder / f"{stem}.{quant}.gguf"
        if not target.is_file():
            say(_("Making {quant} from {file} with llama.cpp's quantizer...").format(
                quant=quant, file=shipped.path.name))  # fmt: skip
            started = time.perf_counter()
            quantize_file(shipped.path, target, quant, settings.threads)
            say(_("  done in {s:.1f} s").format(s=time.perf_counter() - started))
        files.append(Measured(quant, target, target.stat().st_size))
    say(_("Reading the quality prompts with the shipped file..."))
    reference = gate_log_probs(shipped.path, bench)
    for item in files:
        if item.quant != SHIPPED:
            say(_("Quality gate for {quant}...").format(quant=item.quant))
            item.kld = mean_kld(reference, gate_log_probs(item.path, bench))
            item.passed = threshold is not None and item.kld <= threshold
            if not item.passed:
                item.note = (
                    _("no quality threshold in the catalog for this model")
                    if threshold is None
                    else _("KLD {kld:.4f} above {limit}").format(kld=item.kld, limit=threshold)
                )
    # Rounds over all the files, not each file in turn: other work on the machine comes and goes,
    # and a busy minute then slows every candidate alike instead of one of them.
    runs: dict[str, list[tuple[float, float, float]]] = {m.quant: [] for m in files}
    for round_ in range(repeats):
        say(_("Measuring, round {i} of {n}: a {p}-token prompt and {m} tokens with each file...")
            .format(i=round_ + 1, n=repeats, p=PROMPT_TOKENS, m=decode_tokens))  # fmt: skip
        for item in files:
            runs[item.quant].append(measure_once(item.path, bench, decode_tokens=decode_tokens))
    for item in files:
        prefill, decode, first = zip(*runs[item.quant], strict=True)
        item.prefill_tps = statistics.median(prefill)
        item.decode_tps = statistics.median(decode)
        item.first_token_s = statistics.median(first)
    choice.measured = files
    passing = [m for m in files if m.passed]
    choice.chosen = min(passing, key=lambda m: m.workload_s)
    if not record:
        return choice
    chosen = choice.chosen
    if chosen.quant == SHIPPED:
        write_choice(installed.directory, None)
    else:
        say(_("Recording {quant} with its sha256...").format(quant=chosen.quant))
        choice.recorded = DerivedFormat(
            chosen.quant,
            f"{DERIVED_FOLDER}/{chosen.path.name}",
            sha256_of(chosen.path),
            chosen.path.stat().st_size,
            artifact.files[0].sha256,
            {
                "kld_vs_shipped": round(chosen.kld, 6),
                "prefill_tps": round(chosen.prefill_tps, 1),
                "decode_tps": round(chosen.decode_tps, 1),
                "threads": float(settings.threads),
                "measured_at": float(int(time.time())),
            },
        )
        write_choice(installed.directory, choice.recorded)
    for item in files:  # disk is scarce on a Pi: keep only the file the app will load
        if item.quant not in (SHIPPED, chosen.quant):
            item.path.unlink(missing_ok=True)
    return choice
