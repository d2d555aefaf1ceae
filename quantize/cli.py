"""The ``edgemed-quantize`` command."""

from __future__ import annotations

import sys
from typing import Any

import click

from edgemed import __version__
from edgemed.cli import render_error
from edgemed.errors import EdgemedError
from edgemed.i18n import _


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
