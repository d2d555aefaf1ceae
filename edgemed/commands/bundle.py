"""``edgemed bundle``: build an offline bundle for a device, check one, install one."""

from __future__ import annotations

import os
from pathlib import Path

import click

from edgemed.i18n import _


def _say(line: str) -> None:
    click.echo(line, err=True)


@click.group(help=_("Offline bundles: edgemed, its dependencies and a model on a USB stick."))
def bundle() -> None:
    return None


def _key_folder() -> Path:
    """Where `bundle keygen` puts the deployer key by default (the deployer's own config dir)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("edgemed"))


def _public_key_for(deployer_key: Path | None, prefix: Path | None) -> Path | None:
    """--deployer-key, else EDGEMED_DEPLOYER_KEY, else nothing (the installer adds its pin)."""
    if deployer_key is not None:
        return deployer_key
    configured = os.environ.get("EDGEMED_DEPLOYER_KEY")
    return Path(configured) if configured else None


_DEPLOYER_KEY = click.option(
    "--deployer-key",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=_(
        "The deployer's public key (deployer.pub), brought separately from the stick. Default: "
        "EDGEMED_DEPLOYER_KEY, else the key pinned under the prefix by an earlier install."
    ),
)
_ALLOW_UNSIGNED = click.option(
    "--allow-unsigned",
    is_flag=True,
    help=_(
        "Where no deployer key is pinned: go on without checking who made the bundle. Its "
        "checksums then only show damage, not tampering: anyone who could write the stick could "
        "have put code in it that this install runs."
    ),
)


@bundle.command(
    "keygen",
    help=_(
        "Make the deployer key that signs bundles and model manifests: deployer.key (private, "
        "0600: keep it on the build machine only) and deployer.pub (give it to every device)."
    ),
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=_("Folder for the two files (default: edgemed's config folder)."),
)
def keygen(out: Path | None) -> None:
    from edgemed.bundle.keys import PUBLIC_NAME, generate

    folder = out or _key_folder()
    key = generate(folder)
    click.echo(_("Deployer key {id}: private {private}, public {public}.").format(
        id=key.id, private=key.path, public=folder / PUBLIC_NAME))  # fmt: skip
    click.echo(
        _("Keep {private} secret (anyone who has it can sign bundles your devices accept).").format(
            private=key.path
        )
    )


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
@click.option(
    "--signing-key",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=_("The deployer's private key (default: deployer.key from `edgemed bundle keygen`)."),
)
@click.option(
    "--unsigned",
    is_flag=True,
    help=_("Build without a signature: devices then install it only with --allow-unsigned."),
)
def build(
    target_id: str,
    model_id: str,
    out: Path,
    python_version: str | None,
    glibc: str | None,
    wheelhouse: Path | None,
    llama_wheel: Path | None,
    signing_key: Path | None,
    unsigned: bool,
) -> None:
    from edgemed.bundle.build import BuildRequest, build_bundle
    from edgemed.bundle.keys import PRIVATE_NAME
    from edgemed.bundle.targets import find_target
    from edgemed.errors import InputError

    # An unknown target is the likelier mistake: name the known ones before anything else.
    target = find_target(target_id).with_versions(python_version, glibc)
    if unsigned and signing_key is not None:
        raise InputError(_("--unsigned and --signing-key exclude each other."))
    if not unsigned and signing_key is None:
        signing_key = _key_folder() / PRIVATE_NAME
        if not signing_key.is_file():
            raise InputError(
                _("No deployer key at {file}: a bundle is signed so that devices can tell it "
                  "from one an attacker rebuilt.").format(file=signing_key),
                hint=_("Make one with `edgemed bundle keygen` (once), give --signing-key FILE, "
                       "or --unsigned for a bundle devices accept only with --allow-unsigned."),
            )  # fmt: skip

    request = BuildRequest(
        target=target,
        out=out,
        model=None if model_id == "none" else model_id,
        wheelhouse=wheelhouse,
        llama_wheel=llama_wheel,
        signing_key=None if unsigned else signing_key,
    )
    built = build_bundle(request, report=_say)
    click.echo(
        _("Bundle for {target} in {out}: {n} files, {mb} MB.").format(
            target=target.id, out=out, n=len(built.manifest.files), mb=built.size // 1_000_000
        )
    )
    click.echo(_("Fingerprint (write it down): {fp}").format(fp=built.fingerprint))
    if built.manifest.signer:
        click.echo(_("Signed by the deployer key {id}.").format(id=built.manifest.signer))
        click.echo(
            _("On the device: sudo sh install.sh --deployer-key deployer.pub (see docs/deploy.md)")
        )
    else:
        click.echo(_("UNSIGNED: devices install it only with --allow-unsigned."), err=True)


@bundle.command("check", help=_("Check every file of the bundle in DIRECTORY; install nothing."))
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@_DEPLOYER_KEY
@_ALLOW_UNSIGNED
@click.option(
    "--prefix",
    type=click.Path(path_type=Path),
    default=None,
    help=_("Where a pinned key is looked for (default: as for install)."),
)
def check(
    directory: Path, deployer_key: Path | None, allow_unsigned: bool, prefix: Path | None
) -> None:
    from edgemed.bundle.installer import UNSIGNED_WARNING, default_prefix, trusted_key
    from edgemed.bundle.manifest import check_bundle, fingerprint
    from edgemed.bundle.signing import key_id

    key, origin = trusted_key(
        _public_key_for(deployer_key, prefix), (prefix or default_prefix()).resolve(), directory
    )
    if key is None and allow_unsigned:
        click.echo(UNSIGNED_WARNING, err=True)
    manifest = check_bundle(directory, key, allow_unsigned=allow_unsigned)
    if key is not None:
        click.echo(_("Signed by the deployer key {key} ({origin}).").format(
            key=key_id(key), origin=origin))  # fmt: skip
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
        "Install the bundle in DIRECTORY with no network: its signature and every file are "
        "checked first, it is copied to local disk and checked again, then a new release is "
        "installed from the copy, tested on a case, and only then made current."
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
@_DEPLOYER_KEY
@_ALLOW_UNSIGNED
def install_command(
    directory: Path,
    prefix: Path | None,
    data_dir: Path | None,
    rules_only: bool,
    expect_fingerprint: str | None,
    deployer_key: Path | None,
    allow_unsigned: bool,
) -> None:
    from edgemed.bundle.installer import InstallRequest, default_prefix, install_bundle

    install_bundle(
        InstallRequest(
            bundle=directory,
            prefix=prefix or default_prefix(),
            data_dir=data_dir,
            rules_only=rules_only,
            expect_fingerprint=expect_fingerprint,
            deployer_key=_public_key_for(deployer_key, prefix),
            allow_unsigned=allow_unsigned,
        ),
        report=_say,
    )
