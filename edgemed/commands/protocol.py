"""``edgemed protocol list | show ID | check ID``: what is encoded, and what is still unverified."""

from __future__ import annotations

import click

from edgemed.errors import InputError
from edgemed.i18n import _
from edgemed.protocol import Protocol, ProtocolError, available_protocols, load_protocol


def _load(protocol_id: str) -> Protocol:
    try:
        return load_protocol(protocol_id)
    except ProtocolError as error:
        raise InputError(error.message) from None


@click.group(help=_("The triage protocols edgemed encodes, and their review status."))
def protocol() -> None:
    pass


@protocol.command("list", help=_("List the protocols, their versions and unverified cells."))
def list_protocols() -> None:
    for protocol_id in available_protocols():
        p = _load(protocol_id)
        click.echo(
            _("{id}  version {version}  {unverified} unverified  {title}").format(
                id=p.id, version=p.version, unverified=len(p.unverified_cells()), title=p.title
            )
        )


@protocol.command("show", help=_("Show a protocol: levels, findings, rules and score table."))
@click.argument("protocol_id", metavar="ID")
def show(protocol_id: str) -> None:
    p = _load(protocol_id)
    echo = click.echo
    echo(f"{p.title}")
    echo(
        _("id {id}, version {version}, sha256 {sha}").format(
            id=p.id, version=p.version, sha=p.sha256
        )
    )
    if p.applies_to:
        echo(_("For: {who}").format(who=p.applies_to))
    echo("")
    echo(_("Levels (most urgent first):"))
    for lv in p.levels:
        echo(f"  {lv.category.name:<7} {lv.word:<24} {lv.target_minutes:>4} min")
    echo("")
    echo(_("Findings (id, level it can reach, label):"))
    for f in p.findings.values():
        echo(f"  {f.id:<28} {f.category.name:<7} {f.label}")
    echo("")
    echo(_("Rules on measurements, combinations and patient groups:"))
    for rule in p.rules:
        if rule.findings == (rule.id,):
            continue  # a finding's own rule, listed above
        level = _("one level up") if rule.up_triage else rule.category.name  # type: ignore[union-attr]
        echo(f"  {rule.id:<28} {level:<12} {rule.text}")
        if rule.when.describe():
            echo(
                f"  {'':<28} {'':<12} " + _("applies when: {who}").format(who=rule.when.describe())
            )
    if p.score is not None:
        echo("")
        echo(_("Score: {name}").format(name=p.score.name))
        for parameter in p.score.parameters:
            cells = ", ".join(f"{c.threshold.cell}={c.points}" for c in parameter.cells)
            echo(f"  {parameter.label:<32} {cells}")
        for band in p.score.bands:
            upper = "+" if band.max_total is None else f"-{band.max_total}"
            echo(f"  {band.min_total}{upper:<4} -> {band.category.name}")
    if p.notes:
        echo("")
        echo(_("Notes:"))
        echo(p.notes.strip())


@protocol.command(
    "check",
    help=_(
        "List every unverified cell of a protocol and print the file's sha256, "
        "for a clinic's medical lead to review and sign off."
    ),
)
@click.argument("protocol_id", metavar="ID")
def check(protocol_id: str) -> None:
    p = _load(protocol_id)
    cells = p.unverified_cells()
    click.echo(_("{id} version {version}").format(id=p.id, version=p.version))
    click.echo(_("file: {path}").format(path=p.path))
    click.echo(_("sha256: {sha}").format(sha=p.sha256))
    click.echo(_("{n} unverified cell(s):").format(n=len(cells)))
    for cell in cells:
        line = f"  [{cell.where}] {cell.text}  ({_('source')}: {cell.source})"
        if cell.note:
            line += f"  {cell.note}"
        click.echo(line)
