"""The ``edgemed`` command: a thin click layer over the library.

Subcommands are loaded lazily so that ``edgemed assess`` never pays for importing an inference
engine, and errors from the ``EdgemedError`` family are rendered here, in one place.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from edgemed import __version__
from edgemed.errors import EdgemedError, ExitCode, error_lines
from edgemed.i18n import _

# name -> "module:attribute". A module that is not part of this build is simply not listed.
_COMMANDS: dict[str, str] = {
    "assess": "edgemed.commands.assess:assess",
    "protocol": "edgemed.commands.protocol:protocol",
    "logs": "edgemed.commands.logs:logs",
    "models": "edgemed.commands.models:models",
    "doctor": "edgemed.commands.doctor:doctor",
    "eval": "edgemed.commands.evaluate:evaluate",
    "bundle": "edgemed.commands.bundle:bundle",
    "app": "edgemed.commands.app:app",
}


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        present = [n for n, t in _COMMANDS.items() if _module_exists(t.split(":")[0])]
        return sorted(present)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        if not _module_exists(module_name):
            return None
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=_(
        "edgemed: offline triage for clinics. With no command, opens the nurse's app.\n\n"
        "The triage category always comes from a published, deterministic protocol; "
        "local language models only propose findings and wording for the nurse to confirm."
    ),
)
@click.version_option(__version__, prog_name="edgemed")
@click.pass_context
def cli(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is not None:
        return
    app = cli.get_command(ctx, "app")
    if app is None:
        click.echo(ctx.get_help())
        return
    ctx.invoke(app)


def render_error(error: EdgemedError) -> None:
    """Print an ``EdgemedError`` the way every edgemed command does."""
    first, *rest = error_lines(error)
    click.secho(first, fg="red", err=True)
    for line in rest:
        click.echo(line, err=True)


def run(command: click.Command, argv: list[str] | None, prog_name: str) -> Any:
    """Run a click command as both console scripts do: errors rendered once, no traceback for a
    user's mistake, Ctrl-C and a "no" at a prompt said in words, exit codes from ExitCode."""
    try:
        return command.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except EdgemedError as error:
        render_error(error)
        sys.exit(error.exit_code)
    except click.exceptions.Abort as stopped:
        # click turns Ctrl-C inside a command into Abort: it is still an interrupt.
        if isinstance(stopped.__cause__, KeyboardInterrupt):
            click.echo(_("Interrupted."), err=True)
            sys.exit(ExitCode.INTERRUPTED)
        click.echo(_("Aborted."), err=True)
        sys.exit(ExitCode.FAILED)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except KeyboardInterrupt:
        click.echo(_("Interrupted."), err=True)
        sys.exit(ExitCode.INTERRUPTED)


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``edgemed`` console script."""
    # Everything edgemed writes (log, keyring, backups, exports, settings) is this account's only.
    os.umask(0o077)
    return run(cli, argv, "edgemed")


if __name__ == "__main__":
    main()
