"""``edgemed doctor``: what this machine is, and what edgemed should run on it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from edgemed.catalog import installed_models
from edgemed.errors import InputError
from edgemed.hardware import (
    Advice,
    SystemFacts,
    SystemRecord,
    advice_for,
    load_profiles,
    parse_facts,
    read_system_record,
)
from edgemed.i18n import _
from edgemed.inference.opening import llama_build, llama_problem
from edgemed.locations import models_dir


def _facts_json(facts: SystemFacts) -> dict[str, Any]:
    raw = asdict(facts)
    raw["cpu_features"] = sorted(facts.cpu_features & _INTERESTING)
    raw["gpus"] = [asdict(g) for g in facts.gpus]
    return raw


# The flags worth showing (the full list is hundreds long).
_INTERESTING = frozenset(
    [
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512bw",
        "avx512_vnni",
        "avx_vnni",
        "asimd",
        "asimddp",
        "i8mm",
        "sve",
        "asimdhp",
    ]
)


def _advice_json(advice: Advice) -> dict[str, Any]:
    return {
        "profile": advice.profile.id,
        "profile_name": advice.profile.name,
        "model": advice.model_id,
        "tier": advice.tier,
        "quant": advice.quant,
        "threads": advice.threads,
        "context": advice.context,
        "batch": advice.batch,
        "gpu_layers": advice.gpu_layers,
        "backend": advice.backend,
        "fallback_reason": advice.fallback_reason,
        "llama_cpp_cmake_args": advice.cmake_args,
        "argon2_memory_kib": advice.profile.argon2_memory_kib,
        "argon2_time_cost": advice.profile.argon2_time_cost,
        "warnings": list(advice.warnings),
        "notes": list(advice.notes),
    }


def _print_report(facts: SystemFacts, advice: Advice, installed: list[str]) -> None:
    yes, no = _("yes"), _("no")
    click.secho(_("This machine"), bold=True)
    board = f" ({facts.board})" if facts.board else ""
    click.echo(
        _("  CPU: {model}{board}, {arch}").format(
            model=facts.cpu_model, board=board, arch=facts.machine
        )
    )
    click.echo(
        _("  Cores: {physical} physical, {logical} logical").format(
            physical=facts.physical_cores, logical=facts.logical_cores
        )
    )
    click.echo(
        _("  Instruction sets: {simd}").format(simd=", ".join(facts.simd) or _("none known"))
    )
    click.echo(
        _("  Memory: {total} MB, {free} MB available; disk: {disk} MB free").format(
            total=facts.ram_mb, free=facts.available_ram_mb, disk=facts.free_disk_mb
        )
    )
    for gpu in facts.gpus:
        click.echo(
            _("  GPU: {name}, {memory} MB ({kind})").format(
                name=gpu.name, memory=gpu.memory_mb, kind=gpu.kind
            )
        )
    if not facts.gpus:
        click.echo(_("  GPU: none found"))
    offload = facts.llama_gpu_offload
    click.echo(
        _("  llama.cpp can use a GPU: {answer}").format(
            answer=_("not installed") if offload is None else (yes if offload else no)
        )
    )
    click.secho(_("Advice ({profile})").format(profile=advice.profile.name), bold=True)
    click.echo(
        _("  Model: {model} ({tier} tier); quantization for this device: {quant}").format(
            model=advice.model_id or _("none (rules-only)"), tier=advice.tier, quant=advice.quant
        )
    )
    click.echo(
        _("  Threads: {threads}; context: {context} tokens; GPU layers: {layers}").format(
            threads=advice.threads, context=advice.context, layers=advice.gpu_layers
        )
    )
    where = _("GPU (CUDA)") if advice.backend == "cuda" else _("CPU")
    click.echo(_("  Runs on: {where}").format(where=where))
    if advice.fallback_reason:
        click.secho(_("  CPU fallback: {why}").format(why=advice.fallback_reason), fg="yellow")
    click.echo(_('  llama.cpp build flags: CMAKE_ARGS="{flags}"').format(flags=advice.cmake_args))
    for warning in advice.warnings:
        click.secho(f"  ! {warning}", fg="yellow")
    for note in advice.notes:
        click.echo(f"  - {note}")
    if advice.model_id and advice.model_id not in installed:
        click.echo(_("  Next: edgemed models install {id}").format(id=advice.model_id))


@click.command(help=_("Check this machine and recommend a model, threads, context and GPU use."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the report as JSON."))
@click.option(
    "--facts",
    "facts_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=_("Advise for a system record taken on another device (see --record)."),
)
@click.option(
    "--record",
    "record_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("Save this machine's raw system record to FILE, to get advice elsewhere."),
)
@click.option(
    "--profile", "profile_id", help=_("Use this device profile instead of detecting one.")
)
@click.option(
    "--bench",
    "run_bench",
    is_flag=True,
    help=_(
        "Measure the model's formats on this machine (the shipped file, and Q4_0 and Q8_0 made "
        "from it by llama.cpp) and keep the fastest that passes the quality gate: the app then "
        "loads it. Takes a minute or two."
    ),
)
@click.option(
    "--model",
    "bench_model",
    help=_("With --bench: the installed model to measure (default: the advised one)."),
)
def doctor(
    as_json: bool,
    facts_file: Path | None,
    record_file: Path | None,
    profile_id: str | None,
    run_bench: bool,
    bench_model: str | None,
) -> None:
    if run_bench and facts_file is not None:
        raise InputError(
            _("--bench measures this machine; it cannot be combined with --facts."),
            hint=_("Run `edgemed doctor --bench` on the device itself."),
        )
    if bench_model is not None and not run_bench:
        raise InputError(_("--model is only used with --bench."))
    if profile_id is not None and profile_id not in load_profiles():
        raise InputError(
            _("Unknown profile {id!r}; known: {known}.").format(
                id=profile_id, known=", ".join(sorted(load_profiles()))
            )
        )
    if facts_file is not None:
        try:
            record = SystemRecord.from_json(facts_file.read_text(encoding="utf-8"))
        except (ValueError, TypeError) as error:
            raise InputError(
                _("{file} is not a system record: {error}").format(file=facts_file, error=error)
            ) from None
        # A recorded device's llama.cpp build is unknown here: assume the profile's own build.
        offload: bool | None = bool(record.nvidia_smi or record.tegra_release)
        info = ""
        problem = None
    else:
        record = read_system_record(models_dir())
        offload, info = llama_build()
        problem = llama_problem()
    if record_file is not None:
        record_file.write_text(record.to_json() + "\n", encoding="utf-8")
    facts = parse_facts(record, offload, info)
    advice = advice_for(facts, profile_id)
    installed = [m.artifact.id for m in installed_models()]
    permissions = _permission_problems()
    if as_json:
        document = {
            "facts": _facts_json(facts),
            "advice": _advice_json(advice),
            "installed": installed,
            "permission_problems": permissions,
            "llama_cpp_problem": problem.detail if problem else None,
        }
        if run_bench:
            document["bench"] = _bench_json(_bench(advice, bench_model, installed, quiet=True))
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    _print_report(facts, advice, installed)
    if run_bench:
        if problem is not None:
            raise problem  # the bench runs llama.cpp: the error says why it cannot, and the fix
        _print_bench(_bench(advice, bench_model, installed, quiet=False))
    elif problem is not None:
        click.secho(f"  ! {problem.message}", fg="red")
        click.echo(f"    {problem.hint}")
    for permission in permissions:
        click.secho(
            _("  ! Other accounts can read the encounter log's files: {problem}").format(
                problem=permission
            ),
            fg="red",
        )


def _permission_problems() -> list[str]:
    """The data folder 0700 and the log's files 0600 (the store says which are not)."""
    from edgemed.store import permission_problems

    return permission_problems()


# -- doctor --bench -------------------------------------------------------------------------------
def _bench(advice: Advice, model: str | None, installed: list[str], *, quiet: bool) -> Any:
    """Measure the formats of ``model`` (else the advised model, else the catalog default)."""
    from edgemed.inference.engine import EngineSettings
    from edgemed.inference.formats import choose_format

    wanted = model or (advice.model_id if advice.model_id in installed else "default")
    settings = EngineSettings(advice.threads, advice.context, advice.gpu_layers, advice.batch)

    def say(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    say(_("Measuring the formats of {model} on this machine ({threads} threads)...").format(
        model=wanted, threads=settings.threads))  # fmt: skip
    return choose_format(wanted, settings, report=say)


def _bench_json(choice: Any) -> dict[str, Any]:
    return {
        "model": choice.model_id,
        "kld_max": choice.threshold,
        "chosen": choice.chosen.quant if choice.chosen else None,
        "recorded": choice.recorded.as_json() if choice.recorded else None,
        "formats": [
            {
                "format": m.quant,
                "size": m.size,
                "prefill_tokens_per_s": round(m.prefill_tps, 1),
                "decode_tokens_per_s": round(m.decode_tps, 1),
                "first_token_300_s": round(m.first_token_s, 3),
                "workload_s": round(m.workload_s, 3),
                "kld_vs_shipped": round(m.kld, 6),
                "passed": m.passed,
                "note": m.note,
            }
            for m in choice.measured
        ],
    }


def _print_bench(choice: Any) -> None:
    click.secho(_("Formats of {model} measured here").format(model=choice.model_id), bold=True)
    click.echo(
        _("  format      MB  prompt tok/s  decode tok/s  300+128 tokens s  KLD      quality")
    )
    for m in choice.measured:
        verdict = _("pass") if m.passed else _("fail: {why}").format(why=m.note)
        kld = "-" if m.quant == "shipped" else f"{m.kld:.4f}"
        click.echo(
            f"  {m.quant:8} {m.size / 1e6:5.0f}  {m.prefill_tps:12.0f}  {m.decode_tps:12.1f}"
            f"  {m.workload_s:16.2f}  {kld:7}  {verdict}"
        )
    chosen = choice.chosen
    if choice.recorded is not None:
        click.secho(
            _("  Kept {quant} (sha256 {sha}...): the app now loads it for {model}.").format(
                quant=chosen.quant, sha=choice.recorded.sha256[:12], model=choice.model_id
            ),
            fg="green",
        )
    else:
        click.echo(_("  Kept the shipped file: it is the fastest that passes here."))
