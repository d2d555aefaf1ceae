"""Running pip for the bundle: with the builder's own settings, or sealed off from every setting.

Standard library only (the installer runs this before edgemed is installed).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from edgemed.errors import EdgemedError
from edgemed.i18n import _


class PipFailed(EdgemedError):
    """pip could not do what the bundle needed; the message carries pip's last lines."""


def sealed_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment minus every pip setting, plus ``extra``.

    An offline install must read wheels from the bundle and nowhere else: a ``PIP_FIND_LINKS``,
    an index in ``/etc/pip.conf`` or a constraints file left on the device would let another
    file in, or make pip wait for a network that is not there.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    environment["PIP_CONFIG_FILE"] = os.devnull
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    environment["PIP_NO_INPUT"] = "1"
    environment.update(extra or {})
    return environment


def run_pip(
    python: Path | str,
    arguments: Sequence[str],
    *,
    what: str,
    sealed: bool,
    environment: Mapping[str, str] | None = None,
    show_output: bool = False,
) -> str:
    """Run ``python -m pip ARGUMENTS``; raise :class:`PipFailed` saying ``what`` failed."""
    command = [str(python), "-m", "pip"]
    if sealed:
        command.append("--isolated")
    command += list(arguments)
    env = sealed_environment(environment) if sealed else {**os.environ, **(environment or {})}
    try:
        result = subprocess.run(
            command,
            env=env,
            stdout=None if show_output else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
    except OSError as error:
        raise PipFailed(
            _("Could not run {python}: {error}").format(python=python, error=error.strerror)
        ) from None
    output = result.stdout or ""
    if result.returncode != 0:
        # pip's local index warnings say nothing about the failure; its last lines do.
        lines = [line for line in output.splitlines() if "is ignored" not in line]
        raise PipFailed(
            _("{what} failed (pip exit code {code}):\n{tail}").format(
                what=what, code=result.returncode, tail="\n".join(lines[-12:])
            )
        )
    return output
