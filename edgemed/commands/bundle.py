"""``edgemed bundle``: build an offline bundle for a device, check one, install one."""

from __future__ import annotations

from pathlib import Path

import click

from edgemed.i18n import _


def _say(line: str) -> None:
    click.echo(line, err=True)


@click.group(help=_("Offline bundles: edgemed, its dependencies and a model on a USB stick."))
def bundle() -> None:
    return None


@bundle.command("targets", help=_("List the devices a bundle can be built for."))
def targets() -> None:
    from edgemed.bundle.targets import load_targets

    for target in load_targets().values():
        click.echo(
            f"{target.id:<18} {target.machine:<8} Python {target.python}  {target.description}"
        )
        click.echo("  " + _("llama.cpp flags: {flags}").format(flags=target.cmake_args))


@bundle.command(
    "build",
    help=_(
        "Build an offline bundle in OUT for a target device: wheels for its CPU and Python, "
        "llama.cpp's source with the device's build flags, the model, and checksums of every "
        "file. Needs the package registry, or --wheelhouse with everything in it."
    ),
)
@click.option("--target", "target_id", required=True, help=_("pi4, pi5, jetson-orin-nano, laptop"))
@click.option(
    "--model",
    "model_id",
    default="default",
    show_default=True,
    help=_("Catalog model id, or 'none' for a rules-only bundle."),
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help=_("A new folder."))
@click.option(
    "--python",
    "python_version",
    default=None,
    help=_("The device's Python (e.g. 3.12) when its OS differs from the target's."),
)
@click.option("--glibc", default=None, help=_("The device's glibc (e.g. 2.39), likewise."))
@click.option(
    "--wheelhouse",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help=_("Build offline from this folder of wheels and sources."),
)
@click.option(
    "--llama-wheel",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help=_(
        "A llama-cpp-python wheel already compiled on one device of this target: "
        "the others then install in a minute instead of compiling."
    ),
)
def build(
    target_id: str,
    model_id: str,
    out: Path,
    python_version: str | None,
    glibc: str | None,
    wheelhouse: Path | None,
    llama_wheel: Path | None,
) -> None:
    from edgemed.bundle.build import BuildRequest, build_bundle
    from edgemed.bundle.targets import find_target

    target = find_target(target_id).with_versions(python_version, glibc)
    request = BuildRequest(
        target=target,
        out=out,
        model=None if model_id == "none" else model_id,
        wheelhouse=wheelhouse,
        llama_wheel=llama_wheel,
    )
    built = build_bundle(request, report=_say)
    click.echo(
        _("Bundle for {target} in {out}: {n} files, {mb} MB.").format(
            target=target.id, out=out, n=len(built.manifest.files), mb=built.size // 1_000_000
        )
    )
    click.echo(_("Fingerprint (write it down): {fp}").format(fp=built.fingerprint))
    click.echo(_("On the device: sha256sum SHA256SUMS, then sudo sh install.sh"))


@bundle.command("check", help=_("Check every file of the bundle in DIRECTORY; install nothing."))
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
def check(directory: Path) -> None:
    from edgemed.bundle.manifest import check_bundle, fingerprint

    manifest = check_bundle(directory)
    click.echo(
        _("Intact: {n} files for {target} (Python {python}), model {model}.").format(
            n=len(manifest.files),
            target=manifest.target.id,
            python=manifest.target.python,
            model=manifest.model or _("none (rules only)"),
        )
    )
    click.echo(_("Fingerprint: {fp}").format(fp=fingerprint(directory)))


@bundle.command(
    "install",
    help=_(
        "Install the bundle in DIRECTORY with no network: every file is checked first, then a "
        "new release is installed under the prefix, tested on a case, and only then made current."
    ),
)
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--prefix",
    type=click.Path(path_type=Path),
    default=None,
    help=_("Default: /opt/edgemed as root, else ~/.local/opt/edgemed."),
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help=_("The encounter log and models (a kiosk uses /var/lib/edgemed)."),
)
@click.option("--rules-only", is_flag=True, help=_("Skip llama.cpp and the model."))
@click.option("--expect-fingerprint", default=None, help=_("Refuse any other bundle."))
def install_command(
    directory: Path,
    prefix: Path | None,
    data_dir: Path | None,
    rules_only: bool,
    expect_fingerprint: str | None,
) -> None:
    from edgemed.bundle.installer import InstallRequest, default_prefix, install_bundle

    install_bundle(
        InstallRequest(
            bundle=directory,
            prefix=prefix or default_prefix(),
            data_dir=data_dir,
            rules_only=rules_only,
            expect_fingerprint=expect_fingerprint,
        ),
        report=_say,
    )
