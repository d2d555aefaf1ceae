"""``edgemed app`` (and plain ``edgemed``): open the nurse's app."""

from __future__ import annotations

import click

from edgemed.i18n import _


@click.command(help=_("Open the nurse's app (the default when edgemed runs with no command)."))
def app() -> None:
    # Textual is imported only when the app really starts: `edgemed assess` never pays for it.
    from edgemed.service import Session
    from edgemed.tui.app import run

    run(Session())
