"""``convert``: source (+ adapter) -> GGUF ladder + ONNX variants -> evaluation -> manifest.

Every artifact is written under a ``.part`` name and renamed when complete, so a rerun with the
same --out resumes: finished artifacts are kept (they are whole by construction) and only the
missing ones are built. A changed source is detected by its fingerprint and refused, because
mixing artifacts of two models in one manifest would be a silent lie.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np

from edgemed.i18n import _
from quantize import bundle, evaluation, ladder, onnx_export, readiness
from quantize.architectures import read_hyperparameters
from quantize.errors import QuantizeError, UnsupportedModel
from quantize.gguf_export import write_gguf
from quantize.source import open_source

Say = Callable[[str], None]
WORK = ".work"


@dataclass
class ConvertRequest:
    source: Path
    out: Path
    gguf: list[str]
    onnx: list[str]
    adapter: Path | None = None
    name: str | None = None
    context: int | None = None
    evaluate: bool = True
    max_kld: float = evaluation.DEFAULT_MAX_KLD
    eval_tokens: int = 512
    fresh: bool = False
    threads: int | None = None


@dataclass
class BuildResult:
    manifest: Path
    artifacts: list[bundle.BuiltArtifact] = field(default_factory=list)


def _slug(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in text.lower())
    return cleaned.strip("-._")[:60] or "model"


def _fingerprint(source: Path, adapter: Path | None) -> dict[str, object]:
    """Cheap identity of the inputs (names, sizes, mtimes), checked before reusing outputs."""
    folders = [source] + ([adapter] if adapter else [])
    return {
        str(p): [p.stat().st_size, int(p.stat().st_mtime)]
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _prepare_out(request: ConvertRequest) -> Path:
    work = request.out / WORK
    if request.fresh and request.out.exists():
        shutil.rmtree(request.out)
    work.mkdir(parents=True, exist_ok=True)
    stamp = work / "inputs.json"
    now = _fingerprint(request.source, request.adapter)
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) != now:
        raise UnsupportedModel(
            _("{out} holds a run of a different source or adapter.").format(out=request.out),
            hint=_("Use another --out, or add --fresh to start this folder again."),
        )
    stamp.write_text(json.dumps(now), encoding="utf-8")
    return work


def _merged_source(request: ConvertRequest, work: Path, say: Say) -> Path:
    if request.adapter is None:
        return request.source
    from quantize.lora import merge_adapter

    merged = work / "merged"
    if merged.is_dir():
        say(_("kept   merged model {path}").format(path=merged))
        return merged
    say(_("merge  LoRA adapter {adapter}").format(adapter=request.adapter))
    return merge_adapter(request.source, request.adapter, merged)


def _gguf_ladder(
    request: ConvertRequest, model: Path, stem: str, say: Say
) -> list[bundle.BuiltArtifact]:
    if not request.gguf:
        return []
    base_type = next((t for t in ("f32", "bf16", "f16") if t in request.gguf), "f16")
    base_home = request.out if base_type in request.gguf else request.out / WORK
    base = base_home / f"{stem}-{base_type}.gguf"
    if base.is_file():
        say(_("kept   {file}").format(file=base.name))
    else:
        total = open_source(model).weight_bytes
        bar = click.progressbar(
            length=total,
            label=_("gguf   {file}").format(file=base.name),
            show_eta=True,
            file=sys.stderr,
        )
        with bar:
            write_gguf(model, base, base_type, name=stem, progress=bar.update)
    built: list[bundle.BuiltArtifact] = []
    for quant in request.gguf:
        target = request.out / f"{stem}-{quant}.gguf"
        if quant != base_type:
            if target.is_file():
                say(_("kept   {file}").format(file=target.name))
            else:
                say(_("quant  {file}").format(file=target.name))
                log = request.out / WORK / "llama.cpp.log"
                ladder.quantize_gguf(base, target, quant, request.threads, log=log)
        built.append(bundle.BuiltArtifact(f"{stem}-{quant}", "gguf", quant, target))
    return built


def _onnx_variants(
    request: ConvertRequest, model: Path, stem: str, say: Say
) -> list[bundle.BuiltArtifact]:
    if not request.onnx:
        return []
    fp32_home = request.out if "fp32" in request.onnx else request.out / WORK
    fp32 = fp32_home / f"{stem}-onnx-fp32"
    if fp32.is_dir():
        say(_("kept   {folder}").format(folder=fp32.name))
    else:
        say(_("onnx   {folder} (export with KV cache)").format(folder=fp32.name))
        onnx_export.export_fp32(model, fp32)
    built: list[bundle.BuiltArtifact] = []
    for variant in request.onnx:
        folder = request.out / f"{stem}-onnx-{variant}"
        if variant != "fp32":
            if folder.is_dir():
                say(_("kept   {folder}").format(folder=folder.name))
            else:
                say(_("onnx   {folder}").format(folder=folder.name))
                onnx_export.quantize_onnx(fp32, folder, variant)
        built.append(bundle.BuiltArtifact(f"{stem}-onnx-{variant}", "onnx", variant, folder))
    return built


def evaluate_artifacts(
    model: Path, built: list[bundle.BuiltArtifact], max_kld: float, tokens: int, say: Say
) -> None:
    """Fill each artifact's metrics; ``recommended`` is 1 only under the KLD threshold."""
    ids = evaluation.text_ids(model, tokens)
    source_run = evaluation.torch_logits(model)
    cache: dict[tuple[int, ...], np.ndarray] = {}

    def source(chunk: list[int]) -> np.ndarray:
        key = tuple(chunk)
        if key not in cache:
            cache[key] = source_run(chunk)
        return cache[key]

    for item in built:
        with contextlib.ExitStack() as stack:
            run: evaluation.Logits
            speed: Callable[[], float]
            if item.format == "gguf":
                child = stack.enter_context(evaluation.gguf_logits(item.path))
                run, speed = child.logits, child.speed
            else:
                run, speed = evaluation.onnx_logits(item.path)
            _evaluate_one(item, source, run, speed, ids, max_kld, say)


def _evaluate_one(
    item: bundle.BuiltArtifact,
    source: evaluation.Logits,
    run: evaluation.Logits,
    speed: Callable[[], float],
    ids: list[int],
    max_kld: float,
    say: Say,
) -> None:
    bar = click.progressbar(
        length=len(ids),
        label=_("eval   {id}").format(id=item.id),
        show_eta=True,
        file=sys.stderr,
    )
    with bar:
        quality = evaluation.compare(source, run, ids, progress=bar.update)
    item.metrics = quality.metrics()
    item.metrics["tokens_per_s"] = round(speed(), 2)
    item.metrics["recommended"] = 1.0 if quality.kld <= max_kld else 0.0
    say(
        _("eval   {id}: ppl {ppl:.3f}, KLD {kld:.5f}, same top {top:.1%}, {tps:.1f} tok/s").format(
            id=item.id,
            ppl=quality.perplexity,
            kld=quality.kld,
            top=quality.same_top,
            tps=item.metrics["tokens_per_s"],
        )
    )


def convert(request: ConvertRequest, say: Say) -> BuildResult:
    verdict = readiness.check(request.source, request.gguf, request.onnx, request.out)
    if not verdict.go:
        raise UnsupportedModel(
            _("{source} cannot be converted: {problems}").format(
                source=request.source, problems=" ".join(verdict.problems)
            ),
            hint=_("Run edgemed-quantize inspect SOURCE for the full report."),
        )
    if not request.gguf and not request.onnx:
        raise QuantizeError(_("Nothing to build: give --gguf, --onnx or --recipe."))
    if request.adapter is not None:
        from quantize.lora import check_adapter

        check_adapter(open_source(request.source), request.adapter)  # before any work starts
    work = _prepare_out(request)
    model = _merged_source(request, work, say)
    source = open_source(model)
    hp = read_hyperparameters(source.config, source.architecture)
    stem = _slug(request.name or request.source.name)
    built = _gguf_ladder(request, model, stem, say) + _onnx_variants(request, model, stem, say)
    if request.evaluate:
        evaluate_artifacts(model, built, request.max_kld, request.eval_tokens, say)
    context = min(request.context or hp.context, hp.context)
    kv_width = hp.kv_heads * hp.head_dim
    ram = {item.id: bundle.ram_need_mb(item, hp.layers, kv_width, context) for item in built}
    from quantize.vocabulary import read_vocabulary

    template = read_vocabulary(source, hp.vocab_size).chat_template or ""
    build_info = {
        "source": str(request.source),
        "source_files": bundle.source_files(request.source),
        "adapter": str(request.adapter) if request.adapter else None,
        "adapter_files": bundle.source_files(request.adapter) if request.adapter else [],
        "tools": bundle.tool_versions(),
        "evaluation": {"max_kld": request.max_kld, "tokens": request.eval_tokens}
        if request.evaluate
        else None,
    }
    manifest = bundle.write_bundle_manifest(
        request.out, built, stem, context, ram, template, build_info
    )
    say(_("wrote  {manifest}").format(manifest=manifest))
    return BuildResult(manifest, built)
