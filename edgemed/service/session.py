"""The application layer: one ``Session`` that the TUI (and any script) drives.

A session holds the clinic's settings, the unlocked encounter log, the chosen model (or none)
and the encounters in progress. Every step of an encounter is a method with typed inputs and
outputs; the draft is saved after each step, and the decision is saved to the encrypted log
before it is returned, so a screen can never show a result that is not on disk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from edgemed import locations
from edgemed.errors import EdgemedError, InputError
from edgemed.files import utc_now
from edgemed.i18n import _, current_language, format_time, protocol_text, set_language
from edgemed.protocol import (
    Category,
    Concern,
    Decision,
    Patient,
    Presence,
    Protocol,
    ProtocolError,
    assess,
    available_protocols,
    load_protocol,
    route,
    triage_view,
)
from edgemed.protocol.definition import FIELD_NAMES
from edgemed.protocol.vital_limits import pregnancy_possible
from edgemed.settings import THEME_CHOICES, Settings, load_settings, save_settings

from . import wording
from .encounter import Encounter
from .flow import EncounterFlow
from .grounding import Grounding, check_grounding
from .log import CLOSING_REASONS, LEFT, SEEN, EncounterLog, SavedEncounter
from .models import NoteWriter, TemplateNote, model_choices, open_note_writer
from .views import (
    EncounterDetail,
    ModelChoice,
    QueueEntry,
    TriageResult,
)


class NotUnlocked(EdgemedError):
    """A step that needs the log was asked for before unlocking (the screen should prevent it)."""


class Session(EncounterFlow):
    """Everything the nurse's app does, without a terminal."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        log_path: Path | None = None,
        key_cost: dict[str, int] | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.log_path = log_path or locations.encounter_log()
        # Argon2 cost for new accounts: None = the store's defaults (tests pass a small one).
        self.key_cost = key_cost
        self._log: EncounterLog | None = None
        self.user: str | None = None
        self._writer: NoteWriter | None = None
        self.model_problem: str | None = None
        self._writer_lock = threading.Lock()
        set_language(self.settings.language)

    # -- first run, accounts, lock ------------------------------------------------------------

    def needs_setup(self) -> bool:
        return not self.settings.setup_done or not EncounterLog.exists(self.log_path)

    def model_choices(self) -> list[ModelChoice]:
        return model_choices()

    def setup(
        self,
        *,
        language: str,
        clinic_name: str,
        user: str,
        passphrase: str,
        passphrase_again: str,
        model_id: str | None,
    ) -> None:
        """First run: create the encrypted log with the first account and save the settings."""
        user = user.strip()
        if not user:
            raise InputError(_("Type a user name for the first nurse account."))
        if passphrase != passphrase_again:
            raise InputError(_("The two passphrases are not the same."))
        from edgemed.store.passphrase import check_passphrase  # the CLI's policy, exactly

        check_passphrase(passphrase)
        self._log = EncounterLog.create(self.log_path, user, passphrase, self.key_cost)
        self.user = user
        self.update_settings(
            language=language,
            clinic_name=clinic_name.strip(),
            model_id=model_id,
            setup_done=True,
        )

    def unlock(self, user: str, passphrase: str) -> None:
        if not user.strip() or not passphrase:
            raise InputError(_("Type your user name and passphrase."))
        log = self._log if self._log is not None else EncounterLog.open(self.log_path)
        self._log = log
        log.unlock(user.strip(), passphrase)
        self.user = user.strip()

    @property
    def log_problem(self) -> str | None:
        """Said to the nurse after unlocking when the log can be read but not written (an
        older copy was put back, or entries were cut): a deployer must check it."""
        reason = self._log.read_only_reason if self._log is not None else None
        if not reason:
            return None
        return _(
            "The encounter log can be read but not written: {reason}. Call the person who "
            "looks after this computer; `edgemed logs verify` says more."
        ).format(reason=reason.rstrip("."))

    def lock(self) -> None:
        """Lock the log (auto-lock, switch user): the next step needs a passphrase again."""
        if self._log is not None:
            self._log.lock()
        self.user = None

    @property
    def unlocked(self) -> bool:
        return self.user is not None and self._log is not None

    def add_user(self, user: str, passphrase: str) -> None:
        self.log.add_user(user.strip(), passphrase, self.key_cost)

    def close(self) -> None:
        self.stop_note()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self.user = None

    @property
    def log(self) -> EncounterLog:
        if self._log is None or self.user is None:
            raise NotUnlocked(_("The encounter log is locked: unlock it first."))
        return self._log

    # -- settings ----------------------------------------------------------------------------

    def update_settings(self, **changes: object) -> Settings:
        """Change and save settings; a new language applies at once, without a restart."""
        settings = self.settings.with_changes(**changes)
        save_settings(settings)
        if settings.model_id != self.settings.model_id and self._writer is not None:
            self._writer.close()
            self._writer = None
        self.settings = settings
        if current_language() != settings.language:
            set_language(settings.language)
        return settings

    def protocol_for(self, encounter: Encounter) -> Protocol:
        forced = encounter.protocol_id or self.settings.protocol_id
        if forced:
            encounter.protocol_id = forced
            return triage_view(load_protocol(forced).id)
        protocol_id, note = route(encounter.patient)
        encounter.protocol_id = protocol_id
        encounter.routing_note = note
        # The primary's vocabulary plus the signs the safety net consults (asked, proposed).
        return triage_view(protocol_id)

    def protocol_status(self) -> str:
        """The protocol in force, for the footer: name, version, sign-off status."""
        ids = (
            [self.settings.protocol_id]
            if self.settings.protocol_id
            else ["sats-adult", "etat-child"]
        )
        parts = []
        unverified = 0
        for protocol_id in ids:
            try:
                protocol = load_protocol(protocol_id)
            except ProtocolError:
                continue
            parts.append(f"{wording.protocol_name(protocol.id)} {protocol.version}")
            unverified += len(protocol.unverified_cells())
        shown = " / ".join(parts)
        if unverified:
            return _("Protocol {protocols}: awaiting sign-off").format(protocols=shown)
        return _("Protocol {protocols}: signed off").format(protocols=shown)

    def labels(self, protocol: Protocol) -> dict[str, str]:
        return {
            fid: protocol_text(definition.label) for fid, definition in protocol.findings.items()
        }

    # -- the model ---------------------------------------------------------------------------

    def note_writer(self) -> NoteWriter:
        """The handover note's author: the chosen model, or the template in rules-only mode.

        A chosen model that cannot be opened (removed, damaged) never blocks the handover: the
        template writes the note and ``model_problem`` says why the model did not.
        """
        with self._writer_lock:
            if self._writer is None:
                try:
                    self._writer = open_note_writer(self.settings.model_id, current_language())
                    self.model_problem = None
                except EdgemedError as error:
                    self.model_problem = error.message
                    self._writer = TemplateNote()
            return self._writer

    @property
    def model_id(self) -> str | None:
        """The model that words proposals and notes; None in rules-only mode."""
        return self.settings.model_id

    # -- the encounter: from the decision to the saved note ----------------------------------

    def finish(self, encounter: Encounter) -> TriageResult:
        """Assess, then save to the encrypted log, and only then return what to show."""
        # A correction's earlier answers not asked again stand as they were.
        for finding_id, presence in encounter.earlier.items():
            encounter.answers.setdefault(finding_id, presence)
        encounter.earlier = {}
        decision = self.decide(encounter)
        protocol = self.protocol_for(encounter)
        encounter.decision = decision
        labels = self.labels(protocol)
        reasons = self.reason_texts(decision)
        if not encounter.note:
            encounter.note = wording.template_note(encounter, decision, reasons, labels)
        saved = self.log.save(encounter, self.user or "", self.model_id)
        encounter.encounter_id, encounter.version = saved
        encounter.step = "result"
        self.log.discard_draft(encounter.draft_id)
        return self.result_view(encounter, decision)

    def decide(self, encounter: Encounter) -> Decision:
        """The protocol's decision for the encounter as it stands (nothing is saved)."""
        protocol = self.protocol_for(encounter)
        try:
            return assess(
                encounter.patient,
                encounter.vitals,
                encounter.findings(),
                protocol.id,
                unmeasurable=encounter.unmeasurable,
                concern=encounter.concern,
            )
        except ProtocolError as error:
            raise InputError(error.message) from error

    def raise_concern(
        self, encounter: Encounter, category: Category, reason: str
    ) -> TriageResult | None:
        """The nurse's clinical concern: the category rises to ``category`` (never falls).

        On a saved encounter the raised decision is saved at once as a new version and its
        result returned; before the decision it is kept for ``finish``.
        """
        reason = reason.strip()
        if not reason:
            raise InputError(_("Say why you are concerned: the reason is kept in the record."))
        if len(reason) > 500:
            raise InputError(_("Keep the reason under 500 characters."))
        encounter.concern = Concern(category, reason)
        if encounter.encounter_id is None:
            self.save_draft(encounter)
            return None
        decision = self.decide(encounter)
        encounter.decision = decision
        encounter.version = self.log.correct(encounter, self.user or "", self.model_id)
        return self.result_view(encounter, decision)

    def mark_unmeasurable(self, encounter: Encounter, field: str, reason: str) -> None:
        """Record that ``field`` could not be measured, and why (finishes, never lowers)."""
        if field not in FIELD_NAMES:
            raise InputError(_("Unknown vital sign {field!r}").format(field=field))
        reason = reason.strip()
        if not reason:
            raise InputError(_("Say why it could not be measured (e.g. no oximeter)."))
        encounter.unmeasurable[field] = reason[:200]
        encounter.skipped.add(field)
        self.save_draft(encounter)

    def pregnancy_applies(self, encounter: Encounter) -> bool:
        """Whether to ask about pregnancy for this patient (not for men, small children)."""
        return pregnancy_possible(encounter.patient)

    def reason_texts(self, decision: Decision) -> tuple[str, ...]:
        return tuple(wording.reason_text(reason) for reason in decision.reasons)

    def result_view(self, encounter: Encounter, decision: Decision) -> TriageResult:
        protocol = triage_view(decision.protocol_id)
        warnings = tuple(wording.warning_text(w, protocol) for w in decision.warnings)
        # The decision already carries the vitals' own warnings: say each once.
        warnings += tuple(w for w in encounter.vital_warnings if w not in warnings)
        note = decision.routing_note or encounter.routing_note
        if note is not None:
            warnings += (wording.routing_text(note),)
        return TriageResult(
            category=decision.category,
            colour=wording.colour_name(decision.category),
            word=wording.category_word(decision.category),
            target=wording.target_text(decision.target_minutes),
            target_minutes=decision.target_minutes,
            reasons=self.reason_texts(decision),
            actions=wording.actions(decision.category),
            warnings=warnings,
            protocol=f"{decision.protocol_id} {decision.protocol_version}",
            encounter_id=encounter.encounter_id or "",
            version=encounter.version,
            incomplete=decision.incomplete,
            missing=tuple(wording.vital_name(f) for f in decision.missing),
            missing_fields=decision.missing,
            concern=decision.concern.reason if decision.concern else "",
            consulted=wording.consulted_text(decision),
            unverified=bool(protocol.unverified_cells()),
            floor_reason=wording.floor_text(decision),
        )

    def stream_note(self, encounter: Encounter) -> Iterator[str]:
        """The handover note, piece by piece, from the model (or the template in one piece)."""
        if encounter.decision is None:
            raise InputError(_("Finish the triage before writing the note."))
        protocol = self.protocol_for(encounter)
        decision = encounter.decision
        reasons, labels = self.reason_texts(decision), self.labels(protocol)
        facts = wording.template_note(encounter, decision, reasons, labels)
        for_model = wording.template_note(
            encounter, decision, reasons, labels, include_absent=False
        )
        writer = self.note_writer()
        present = {f.id for f in encounter.findings() if f.counts}
        allowed = [labels[f] for f in present if f in labels]
        allowed += [
            wording.colour_name(decision.category),
            wording.category_word(decision.category),
        ]
        forbidden = [label for fid, label in labels.items() if fid not in present]
        forbidden += [
            name
            for c in Category
            if c is not decision.category
            for name in (wording.colour_name(c), wording.category_word(c))
        ]

        def check(text: str) -> Grounding:
            return check_grounding(text, facts, allowed, forbidden)

        def pieces() -> Iterator[str]:
            yield from writer.write(facts, for_model, check)
            if writer.problem:
                self.model_problem = writer.problem

        return pieces()

    def stop_note(self) -> None:
        """Stop the note being written (the model stops within 200 ms; what came stays)."""
        if self._writer is not None:
            self._writer.stop()

    def save_note(self, encounter: Encounter, note: str) -> int:
        """Save the edited note as a new version of the saved encounter."""
        if encounter.encounter_id is None:
            raise InputError(_("Finish the triage before saving the note."))
        encounter.note = note
        encounter.version = self.log.correct(encounter, self.user or "", self.model_id)
        encounter.step = "saved"
        return encounter.version

    # -- the queue, history and corrections ---------------------------------------------------

    def queue(self, now: datetime | None = None) -> list[QueueEntry]:
        """Today's encounters, most urgent first, then longest waiting first."""
        now = now or utc_now()
        # The clinic's day is local time, not UTC.
        start = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        entries = [
            self._entry(s, now)
            for s in self.log.encounters(since=start)
            if s.reason not in CLOSING_REASONS
        ]
        return sorted(entries, key=lambda e: (e.category.urgency, e.arrived))

    def history(self, search: str = "", days: int = 3650) -> list[QueueEntry]:
        now = utc_now()
        saved = self.log.encounters(since=now - timedelta(days=days), search=search.strip() or None)
        return sorted((self._entry(s, now) for s in saved), key=lambda e: e.arrived, reverse=True)

    def _entry(self, saved: SavedEncounter, now: datetime) -> QueueEntry:
        decision = saved.decision
        waited = max(0, int((now - saved.started_at).total_seconds() // 60))
        return QueueEntry(
            encounter_id=saved.encounter_id,
            patient=saved.patient_name,
            complaint=saved.complaint,
            category=decision.category,
            word=wording.category_word(decision.category),
            arrived=saved.started_at,
            waited_minutes=waited,
            target_minutes=decision.target_minutes,
            overdue=waited > decision.target_minutes,
            user=saved.user,
        )

    def mark_seen(self, encounter_id: str, *, left: bool = False) -> int:
        """The patient was seen (or left without being seen): off today's queue, kept in the
        log and the history, recorded as a new audited version; returns that version."""
        return self.log.close_out(encounter_id, LEFT if left else SEEN)

    def detail(self, encounter_id: str) -> EncounterDetail:
        saved = self.log.get(encounter_id)
        decision = saved.decision
        protocol = triage_view(decision.protocol_id)
        labels = self.labels(protocol)
        findings = tuple(
            "{label}: {answer}".format(
                label=labels.get(fid, fid),
                answer=_("yes") if presence is Presence.PRESENT else _("no"),
            )
            for fid, presence in saved.findings.items()
            if presence is not Presence.UNKNOWN
        )
        return EncounterDetail(
            encounter_id=saved.encounter_id,
            version=saved.version,
            patient=saved.patient_name,
            complaint=saved.complaint,
            category=decision.category,
            word=wording.category_word(decision.category),
            reasons=self.reason_texts(decision),
            findings=findings,
            vitals=tuple(wording.vitals_lines(saved.vitals)),
            note=saved.note,
            saved=format_time(saved.saved_at, with_date=True),
            user=saved.user,
            protocol=f"{decision.protocol_id} {decision.protocol_version}",
            model=saved.model,
        )

    def start_correction(self, encounter_id: str) -> Encounter:
        """An encounter pre-filled from a saved one; finishing it saves a new version.

        Every earlier answer can change: the emergency signs come ticked as they were, a
        proposal the nurse confirmed (or rejected) shows so again, and the interview's answers
        (discriminators included) are asked again, each question saying what it was; an answer
        not asked again is kept as it was."""
        encounter = self._reopen(encounter_id)
        signs = {s.finding_id for s in self.emergency_signs(encounter)}
        answers = encounter.answers
        encounter.answers = {k: v for k, v in answers.items() if k in signs}
        encounter.earlier = {k: v for k, v in answers.items() if k not in signs}
        self.save_draft(encounter)
        return encounter

    def finish_incomplete(self, encounter_id: str, skipped: set[str]) -> Encounter:
        """An INCOMPLETE decision finished as a new version: straight to the questions, which
        ask only what is still missing (answers kept; ``skipped``, the questions answered "not
        known" before, are not asked again)."""
        encounter = self._reopen(encounter_id)
        encounter.skipped = set(skipped)
        encounter.step = "questions"
        self.save_draft(encounter)
        return encounter

    def _reopen(self, encounter_id: str) -> Encounter:
        saved = self.log.get(encounter_id)
        return Encounter(
            started_at=saved.started_at,
            patient_name=saved.patient_name,
            patient=saved.patient if isinstance(saved.patient, Patient) else Patient(),
            complaint=saved.complaint,
            answers=dict(saved.findings),
            vitals=saved.vitals,
            unmeasurable=dict(saved.decision.unmeasurable),
            concern=saved.decision.concern,
            protocol_id=saved.decision.protocol_id,
            corrects=saved.encounter_id,
            version=saved.version,
            rejected_before=set(saved.rejected),
        )

    # -- what the settings and the clinical-concern dialog offer ------------------------------

    def protocol_choices(self) -> list[str]:
        """The protocols a clinic can force (by default the age picks one)."""
        return available_protocols()

    def theme_choices(self) -> tuple[str, ...]:
        return THEME_CHOICES

    def raise_choices(self, current: Category) -> list[tuple[Category, str]]:
        """The levels the nurse may raise to (only more urgent ones, one step up first), each
        as "ORANGE - Very urgent" in the nurse's language."""
        levels = sorted(
            (c for c in Category if c.is_more_urgent_than(current)), key=lambda c: c.urgency
        )
        levels.reverse()
        return [(c, f"{wording.colour_name(c)} - {wording.category_word(c)}") for c in levels]
