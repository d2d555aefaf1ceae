"""``edgemed logs``: the encrypted encounter log from the command line.

Passphrases are read with hidden input, or from the environment for scripts and tests:
``EDGEMED_PASSPHRASE`` (the account's), ``EDGEMED_NEW_PASSPHRASE`` (a new account's or a changed
one) and ``EDGEMED_BACKUP_PASSPHRASE`` (a backup's). They are never echoed, printed or logged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO, cast

import click

from edgemed.i18n import _
from edgemed.locations import encounter_log
from edgemed.protocol import ProtocolError, Reason
from edgemed.service.wording import reason_text
from edgemed.store import (
    AuditReport,
    Store,
    StoredEncounter,
    StoreError,
    restore_backup,
    write_backup,
)
from edgemed.store.errors import PlaintextRefused
from edgemed.store.outputs import check_output, output_file


def _secret(env: str, prompt: str, *, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    entered: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return entered


def _db_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=_("The encounter log file (default: encounters.db in the data folder)."),
    )(func)


def _user_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option("--user", envvar="EDGEMED_USER", prompt=True, help=_("Your account name."))(
        func
    )


def _force_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--force", is_flag=True, help=_("Replace the file if it exists (never the log's own).")
    )(func)


@contextmanager
def _unlocked(db_path: Path | None, user: str, *, read_only: bool = False) -> Iterator[Store]:
    store = Store.open(db_path)
    try:
        store.unlock(
            user, _secret("EDGEMED_PASSPHRASE", _("Passphrase")), wait=False, read_only=read_only
        )
        for problem in store.unlock_problems:
            click.secho(_("Warning: {message}").format(message=problem.message), fg="red", err=True)
        if store.unlock_problems:
            click.secho(
                _("The log is open for reading only; run `edgemed logs verify`."),
                fg="red",
                err=True,
            )
        yield store
    finally:
        store.close()


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


@click.group(help=_("The encrypted encounter log: create, read, check, back up and export it."))
def logs() -> None:
    pass


@logs.command(help=_("Create a new, empty encounter log with your account."))
@_db_option
@_user_option
def init(db_path: Path | None, user: str) -> None:
    passphrase = _secret("EDGEMED_PASSPHRASE", _("Choose a passphrase"), confirm=True)
    store = Store.create(db_path, user, passphrase)
    click.echo(_("Created the encounter log {path} for {user}.").format(path=store.path, user=user))
    store.close()


@logs.command(name="list", help=_("List encounters (latest version of each), newest first."))
@_db_option
@_user_option
@click.option("--today", is_flag=True, help=_("Only today's queue, most urgent first."))
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help=_("Arrived on or after this day."))
@click.option("--search", help=_("Words to find in the name, clinic number or complaint."))
@click.option("--limit", type=int, default=50, show_default=True)
def list_command(
    db_path: Path | None,
    user: str,
    today: bool,
    since: datetime | None,
    search: str | None,
    limit: int,
) -> None:
    with _unlocked(db_path, user) as store:
        if today:
            found = store.queue()
        else:
            start = since.astimezone() if since else None
            found = store.list_encounters(since=start, search=search, limit=limit)
        if not found:
            click.echo(_("No encounters."))
        for encounter in found:
            record = encounter.record
            click.echo(
                f"{encounter.encounter_id}  v{encounter.version}  {_local(record.arrived_at)}  "
                f"{encounter.category:<8}  {record.patient.get('clinic_number', '')!s:<10}  "
                f"{record.patient.get('name', '')!s:<20}  {record.complaint[:40]}"
            )


def _reason_line(saved: object) -> str:
    """A saved reason in the nurse's language, worded from its kind; a record written before
    reasons were typed shows the text it was saved with."""
    if isinstance(saved, dict):
        try:
            return reason_text(Reason.from_dict(saved))
        except (ProtocolError, KeyError, TypeError, ValueError):
            return str(saved.get("text", saved))
    return str(saved)


def _show(encounter: StoredEncounter) -> None:
    record, decision = encounter.record, encounter.record.decision
    lines = [
        _("Encounter {id}, version {version}").format(
            id=encounter.encounter_id, version=encounter.version
        ),
        _("Arrived: {when}   Decided: {decided}   Nurse: {user}").format(
            when=_local(record.arrived_at), decided=_local(record.decided_at), user=record.user
        ),
        _("Patient: {patient}").format(patient=json.dumps(record.patient, ensure_ascii=False)),
        _("Complaint: {text}").format(text=record.complaint),
        _("Vitals: {vitals}").format(vitals=json.dumps(record.vitals, ensure_ascii=False)),
        _("Category: {category} (target {minutes} min), protocol {protocol} {version}").format(
            category=decision.get("category", ""),
            minutes=decision.get("target_minutes", "?"),
            protocol=decision.get("protocol_id", ""),
            version=decision.get("protocol_version", ""),
        ),
    ]
    lines += ["  - " + _reason_line(reason) for reason in decision.get("reasons", [])]
    for label, findings in (
        (_("Confirmed findings"), record.findings.confirmed),
        (_("Proposed, not confirmed"), record.findings.proposed),
        (_("Ruled out"), record.findings.rejected),
    ):
        if findings:
            names = ", ".join(str(f.get("label", f.get("code", ""))) for f in findings)
            lines.append(f"{label}: {names}")
    if record.model_id:
        lines.append(
            _("Model: {model} ({sha})").format(model=record.model_id, sha=record.model_sha256)
        )
    if record.handover_note:
        lines.append(_("Handover note: {note}").format(note=record.handover_note))
    if encounter.correction_reason:
        lines.append(_("Correction: {reason}").format(reason=encounter.correction_reason))
    click.echo("\n".join(lines))


@logs.command(help=_("Show one encounter (an id prefix is enough)."))
@click.argument("encounter_id")
@_db_option
@_user_option
@click.option("--version", "version", type=int, help=_("An earlier version."))
@click.option("--history", is_flag=True, help=_("Every version, oldest first."))
def show(
    encounter_id: str, db_path: Path | None, user: str, version: int | None, history: bool
) -> None:
    with _unlocked(db_path, user) as store:
        found = store.history(encounter_id) if history else [store.get(encounter_id, version)]
        for number, encounter in enumerate(found):
            if number:
                click.echo("")
            _show(encounter)


def _print_report(report: AuditReport) -> None:
    click.echo(
        _("Audit entries: {entries}; encounter versions checked: {encounters}.").format(
            entries=report.entries, encounters=report.encounters_checked
        )
    )
    click.echo(_("Chain head: {head}").format(head=report.head))
    for problem in report.problems:
        click.secho(f"  [{problem.kind}] {problem.message}", fg="red")


@logs.command(help=_("Check the audit chain and every saved encounter for tampering."))
@_db_option
@_user_option
@click.option(
    "--acknowledge",
    "note",
    default=None,
    help=_(
        "After reading the problems: record them in the audit log with this note (who, why) "
        "and allow saving again."
    ),
)
def verify(db_path: Path | None, user: str, note: str | None) -> None:
    # Read-only: verification writes nothing, not even an unlock entry.
    with _unlocked(db_path, user, read_only=note is None) as store:
        report = store.verify_audit()
        if note is not None and not report.ok:
            store.acknowledge(note)
            _print_report(report)
            click.echo(
                _("{count} problem(s) recorded in the audit log; saving is allowed again.").format(
                    count=len(report.problems)
                )
            )
            return
    _print_report(report)
    if not report.ok:
        raise StoreError(
            _("The encounter log FAILED verification: {count} problem(s).").format(
                count=len(report.problems)
            ),
            _("Report this to the clinic's supervisor; keep the file as it is."),
        )
    click.echo(_("The encounter log is intact."))


@logs.command(help=_("Export encounters to FHIR R4 JSON or CSV (NOT encrypted)."))
@_db_option
@_user_option
@click.option("--format", "fmt", type=click.Choice(["fhir", "csv"]), default="fhir")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--plaintext", is_flag=True, help=_("I understand the file is not encrypted."))
@_force_option
def export(
    db_path: Path | None,
    user: str,
    fmt: str,
    out: Path,
    since: datetime | None,
    plaintext: bool,
    force: bool,
) -> None:
    if not plaintext:
        raise PlaintextRefused(
            _("An export is NOT encrypted: anyone with the file can read every patient in it."),
            _("Add --plaintext to confirm, or use `edgemed logs backup` for an encrypted copy."),
        )
    database = db_path or encounter_log()
    check_output(out, database=database, force=force)  # before asking for a passphrase
    click.secho(
        _("Warning: {path} will hold patient data in plain text. Delete it when done.").format(
            path=out
        ),
        fg="yellow",
        err=True,
    )
    start = since.astimezone() if since else None
    with (
        _unlocked(db_path, user) as store,
        output_file(out, database=database, force=force) as handle,
    ):
        if fmt == "csv":
            count = store.export_csv(cast(TextIO, handle), plaintext=True, since=start)
        else:
            bundle = store.export_fhir(plaintext=True, since=start)
            json.dump(bundle, handle, indent=2, ensure_ascii=False)
            count = len({e["resource"]["id"] for e in bundle["entry"]})
    click.echo(_("Wrote {path} ({count} records).").format(path=out, count=count))


@logs.command(help=_("Write an encrypted backup file with its own passphrase."))
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@_db_option
@_user_option
@_force_option
def backup(dest: Path, db_path: Path | None, user: str, force: bool) -> None:
    check_output(dest, database=db_path or encounter_log(), force=force)
    with _unlocked(db_path, user) as store:
        secret = _secret("EDGEMED_BACKUP_PASSPHRASE", _("Backup passphrase"), confirm=True)
        write_backup(store, dest, secret, force=force)
    click.echo(_("Wrote the encrypted backup {path}.").format(path=dest))


@logs.command(help=_("Restore a backup into a new encounter log."))
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "dest", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_user_option
def restore(source: Path, dest: Path | None, user: str) -> None:
    secret = _secret("EDGEMED_BACKUP_PASSPHRASE", _("Backup passphrase"))
    passphrase = _secret(
        "EDGEMED_NEW_PASSPHRASE",
        _("Passphrase for {user} on the restored log").format(user=user),
        confirm=True,
    )
    store = restore_backup(source, secret, dest=dest, user=user, passphrase=passphrase)
    report = store.verify_audit()  # the restore itself refuses a backup that does not verify
    count = len(store.list_encounters())
    store.close()
    _print_report(report)
    click.echo(_("Restored {count} encounters into {path}.").format(count=count, path=store.path))


@logs.command(help=_("Change your passphrase (the log is not re-encrypted)."))
@_db_option
@_user_option
def passwd(db_path: Path | None, user: str) -> None:
    with _unlocked(db_path, user) as store:
        new = _secret("EDGEMED_NEW_PASSPHRASE", _("New passphrase"), confirm=True)
        store.change_passphrase(user, _secret("EDGEMED_PASSPHRASE", _("Passphrase")), new)
    click.echo(_("Passphrase changed for {user}.").format(user=user))


@logs.command(name="add-user", help=_("Give another nurse their own passphrase for this log."))
@click.argument("new_user")
@_db_option
@_user_option
def add_user(new_user: str, db_path: Path | None, user: str) -> None:
    with _unlocked(db_path, user) as store:
        new = _secret(
            "EDGEMED_NEW_PASSPHRASE", _("Passphrase for {user}").format(user=new_user), confirm=True
        )
        store.add_user(new_user, new)
    click.echo(_("Added {user}.").format(user=new_user))


@logs.command(help=_("Delete encounters older than N days (retention); audited."))
@_db_option
@_user_option
@click.option("--older-than", "days", type=click.IntRange(min=1), required=True, help=_("Days."))
@click.option("--yes", is_flag=True, help=_("Do not ask for confirmation."))
def purge(db_path: Path | None, user: str, days: int, yes: bool) -> None:
    cutoff = date.today() - timedelta(days=days)
    if not yes:
        click.confirm(
            _("Delete every encounter that arrived before {day}?").format(day=cutoff), abort=True
        )
    with _unlocked(db_path, user) as store:
        count = store.purge(days)
    click.echo(_("Deleted {count} encounters.").format(count=count))
