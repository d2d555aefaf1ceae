"""The ``edgemed-quantize`` command: a thin click layer over the pipeline modules."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from edgemed import __version__
from edgemed.cli import render_error
from edgemed.errors import EdgemedError
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
        sys.exit(3)


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``edgemed-quantize`` console script."""
    try:
        return cli.main(args=argv, prog_name="edgemed-quantize", standalone_mode=False)
    except EdgemedError as error:
        render_error(error)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
