"""The steps of one encounter before the decision: patient, complaint, proposals, signs, vitals,
interview questions. Each step checks its input, updates the encounter and saves the draft.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from edgemed.errors import InputError
from edgemed.i18n import N_, _, current_language, protocol_text
from edgemed.protocol import (
    AVPU,
    Category,
    ImpossibleVital,
    Mobility,
    Patient,
    Presence,
    Protocol,
    ProtocolError,
    Vitals,
    check_vitals,
    pregnancy_possible,
)
from edgemed.settings import Settings

from .encounter import VITAL_FIELDS, Encounter, step_after, step_before

if TYPE_CHECKING:
    from edgemed.interview import Question
    from edgemed.protocol.definition import FindingDefinition
from .log import EncounterLog
from .views import (
    DISCRIMINATORS_KEY,
    ProposalStatus,
    ProposedFinding,
    QuestionView,
    SignChoice,
    VitalCheck,
)
from .wording import vital_name, vital_unit, warning_text

_CHOICE_FIELDS = {"avpu": AVPU, "mobility": Mobility}
PREGNANCY_KEY = "pregnant"  # the interview's pregnancy question (edgemed.interview.state)


class VitalsError(InputError):
    """One or more typed vitals are impossible; ``checks`` says which and why."""

    def __init__(self, checks: list[VitalCheck]) -> None:
        super().__init__("; ".join(c.error or "" for c in checks if c.error))
        self.checks = checks


class RequiredField(InputError):
    """A required field of the patient step is empty; ``field`` names it (``name`` or
    ``complaint``) so a screen can put the cursor there."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# The closed sets of the vital signs, in the nurse's words: (what the nurse reads, the
# protocol's value). Picked from a list, never typed as English keywords.
VITAL_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "avpu": (
        (N_("A - alert"), "A"),
        (N_("C - new confusion"), "C"),
        (N_("V - responds to voice"), "V"),
        (N_("P - responds to pain"), "P"),
        (N_("U - unresponsive"), "U"),
    ),
    "mobility": (
        (N_("walks unaided"), "walking"),
        (N_("walks with help"), "with_help"),
        (N_("cannot walk (stretcher)"), "immobile"),
    ),
}

# The order the vital signs are typed in on the vitals step.
VITALS_ORDER = (
    "rr",
    "hr",
    "sbp",
    "dbp",
    "temp_c",
    "spo2",
    "avpu",
    "mobility",
    "cap_refill_s",
    "glucose_mmol",
)

_PRESENCE_WORDS = {
    Presence.PRESENT: N_("yes"),
    Presence.ABSENT: N_("no"),
    Presence.UNKNOWN: N_("not known"),
}


# Digits as typed on an Arabic or Persian keyboard, and the Arabic decimal separator.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫", "01234567890123456789.")


def parse_number(text: str) -> float:
    """A measurement as the nurse types it: ``37.5``, ``37,5`` or ``٣٧٫٥``.

    A comma is always a decimal separator here: no vital sign needs a thousands separator, and
    nurses in decimal-comma countries type ``37,5`` whatever the app's language.
    """
    cleaned = text.strip().translate(_DIGITS).replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError as error:
        raise InputError(_("{text!r} is not a number").format(text=text)) from error
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(_("{text!r} is not a number").format(text=text))
    return value


def parse_age(text: str) -> tuple[float | None, int | None]:
    """``34`` (years), ``8m`` (months) or empty (unknown) -> (years, months)."""
    cleaned = text.strip().lower()
    if not cleaned:
        return None, None
    if cleaned.endswith("m"):
        months = parse_number(cleaned[:-1])
        if not 0 <= months < 12 * 130:
            raise InputError(_("Age {text!r} is not possible.").format(text=text))
        return None, int(months)
    years = parse_number(cleaned)
    if not 0 <= years < 130:
        raise InputError(_("Age {text!r} is not possible.").format(text=text))
    return years, None


def _described(definition: FindingDefinition) -> str:
    """What to look for: the protocol's description where the catalog translates it, else the
    sign's question (always in the catalogs), never English in another language."""
    described = protocol_text(definition.description)
    if current_language() == "en" or described != definition.description:
        return described
    return protocol_text(definition.question)


class EncounterFlow(ABC):
    """The encounter's steps, shared by the TUI and scripts (mixed into ``Session``)."""

    settings: Settings

    @property
    @abstractmethod
    def log(self) -> EncounterLog: ...

    @abstractmethod
    def protocol_for(self, encounter: Encounter) -> Protocol: ...

    @abstractmethod
    def labels(self, protocol: Protocol) -> dict[str, str]: ...

    # -- drafts -------------------------------------------------------------------------------

    def new_encounter(self) -> Encounter:
        return Encounter(protocol_id=self.settings.protocol_id)

    def save_draft(self, encounter: Encounter) -> None:
        """Keep the encounter encrypted in the log: a power cut loses only the field being typed."""
        self.log.save_draft(encounter.draft_id, encounter.to_draft())

    def drafts(self) -> list[Encounter]:
        """Encounters interrupted before their decision (a crash, a power cut, a lock)."""
        found = []
        for data in self.log.load_drafts():
            encounter = Encounter.from_draft(data, {})
            protocol = self.protocol_for(encounter)
            labels = self.labels(protocol)
            for proposal in encounter.proposals:
                proposal.label = labels.get(proposal.finding_id, proposal.finding_id)
            found.append(encounter)
        return found

    def keep_typed(self, encounter: Encounter, typed: dict[str, str]) -> None:
        """Keep what is typed on the current step, not yet submitted, in the encrypted draft
        (leaving the step, quitting, locking): the step shows it again on resume."""
        encounter.typed = {k: v for k, v in typed.items() if v.strip()}
        self.save_draft(encounter)

    def discard(self, encounter: Encounter) -> None:
        self.log.discard_draft(encounter.draft_id)

    # -- the order of the steps (the one place: the TUI's navigator asks here) ---------------

    def can_step_back(self, encounter: Encounter) -> bool:
        return step_before(encounter.step) is not None

    def step_back(self, encounter: Encounter) -> str | None:
        """Back to the previous step (what was entered there stays, shown again); the new
        step, or None on the first one."""
        previous = step_before(encounter.step)
        if previous is None:
            return None
        encounter.step = previous
        self.save_draft(encounter)
        return previous

    def proposals_done(self, encounter: Encounter) -> None:
        """The nurse has gone through the proposals (unanswered ones never count): on."""
        encounter.step = step_after("proposals")
        self.save_draft(encounter)

    # -- what the vitals step shows ------------------------------------------------------------

    def vital_fields(self) -> tuple[str, ...]:
        return VITALS_ORDER

    def vital_label(self, field: str) -> str:
        """``Heart rate (/min)``: the vital's name and unit in the nurse's language."""
        unit = vital_unit(field)
        return vital_name(field) + (f" ({unit})" if unit else "")

    def vital_choices(self, field: str) -> list[tuple[str, str]]:
        """A closed set (AVPU, mobility) as (the nurse's words, the value); empty for numbers."""
        return [(_(text), value) for text, value in VITAL_CHOICES.get(field, ())]

    # -- patient and complaint ---------------------------------------------------------------

    def set_patient(
        self,
        encounter: Encounter,
        *,
        name: str,
        age: str,
        sex: str = "unknown",
        pregnant: bool | None = None,
        trauma: bool | None = None,
        complaint: str,
    ) -> None:
        if not name.strip():
            raise RequiredField(
                "name", _("Type the name or a clinic number: the record must say who it is.")
            )
        if not complaint.strip():
            raise RequiredField(
                "complaint", _("Type what brings the patient (a few words are enough).")
            )
        years, months = parse_age(age)
        if years is None and months is None:
            raise InputError(
                _("Type the age: years (34) or months for a baby (8m); it picks the protocol.")
            )
        if sex not in ("female", "male", "unknown"):
            raise InputError(_("Sex must be female, male or unknown."))
        patient = Patient(age_years=years, age_months=months, sex=sex, trauma=trauma)
        if pregnant is not None and not pregnancy_possible(patient):
            if pregnant:
                raise InputError(
                    _("Pregnancy is not possible for this patient: check the age and sex.")
                )
            pregnant = None  # "not pregnant" for a man or a small child says nothing
        encounter.patient_name = name.strip()
        encounter.patient = Patient(
            age_years=years, age_months=months, sex=sex, pregnant=pregnant, trauma=trauma
        )
        encounter.complaint = complaint.strip()
        if encounter.corrects is None:
            encounter.protocol_id = self.settings.protocol_id
        self.protocol_for(encounter)
        encounter.step = step_after("patient")
        encounter.typed = {}
        self.save_draft(encounter)

    def propose(self, encounter: Encounter) -> list[ProposedFinding]:
        """Findings proposed from the complaint (never counted until the nurse confirms them)."""
        from edgemed.understand.pipeline import understand

        protocol = self.protocol_for(encounter)
        labels = self.labels(protocol)
        known = {p.finding_id for p in encounter.proposals}
        found = understand(encounter.complaint, current_language(), protocol)
        for proposal in found.proposals:
            if proposal.finding_id in known or proposal.finding_id not in protocol.findings:
                continue
            known.add(proposal.finding_id)
            present = proposal.presence is Presence.PRESENT
            encounter.proposals.append(
                ProposedFinding(
                    finding_id=proposal.finding_id,
                    label=labels[proposal.finding_id],
                    present=present,
                    confidence=proposal.confidence,
                    method=proposal.method,
                    span=proposal.span,
                    evidence=proposal.evidence,
                    status=self._status_before(encounter, proposal.finding_id, present),
                )
            )
        self.save_draft(encounter)
        return list(encounter.proposals)

    @staticmethod
    def _status_before(encounter: Encounter, finding_id: str, present: bool) -> ProposalStatus:
        """In a correction, a proposal the saved version already holds shows as the nurse left
        it: confirmed (the saved answer is the proposal's from now on: rejecting it takes it
        away), or rejected. A new encounter's proposals wait for the nurse."""
        if encounter.corrects is None:
            return ProposalStatus.PENDING
        if finding_id in encounter.rejected_before:
            return ProposalStatus.REJECTED
        wanted = Presence.PRESENT if present else Presence.ABSENT
        for answers in (encounter.answers, encounter.earlier):
            if answers.get(finding_id) is wanted:
                del answers[finding_id]
                return ProposalStatus.CONFIRMED
        return ProposalStatus.PENDING

    def decide_proposal(self, encounter: Encounter, finding_id: str, confirm: bool) -> None:
        for proposal in encounter.proposals:
            if proposal.finding_id == finding_id:
                proposal.status = ProposalStatus.CONFIRMED if confirm else ProposalStatus.REJECTED
        self.save_draft(encounter)

    # -- emergency signs ---------------------------------------------------------------------

    def emergency_signs(self, encounter: Encounter) -> list[SignChoice]:
        """The protocol's emergency signs (any one makes it RED), with what is already known."""
        protocol = self.protocol_for(encounter)
        # Only what the nurse confirmed is pre-ticked: a proposal is never a tick by itself.
        present = {f.id for f in encounter.findings() if f.counts}
        return [
            SignChoice(fid, protocol_text(d.label), protocol_text(d.description), fid in present)
            for fid, d in protocol.findings.items()
            if d.category is Category.RED and d.alone
        ]

    def set_signs(self, encounter: Encounter, ticked: set[str]) -> bool:
        """Ticked signs are present, the others on the list absent: the nurse looked at each.

        Returns True when a red sign was ticked: the interview ends there (RED, act now; the
        vitals come after the emergency treatment, not before the decision).
        """
        for sign in self.emergency_signs(encounter):
            encounter.answers[sign.finding_id] = (
                Presence.PRESENT if sign.finding_id in ticked else Presence.ABSENT
            )
        red = any(sign.finding_id in ticked for sign in self.emergency_signs(encounter))
        encounter.step = "result" if red else step_after("signs")
        self.save_draft(encounter)
        return red

    # -- vitals --------------------------------------------------------------------------------

    def check_vital(self, field: str, text: str) -> VitalCheck:
        """Live check of one typed vital: impossible values refused, implausible ones questioned."""
        if field not in VITAL_FIELDS:
            raise InputError(_("Unknown vital sign {field!r}").format(field=field))
        if not text.strip():
            return VitalCheck(field, None)
        value: Any
        if field in _CHOICE_FIELDS:
            choices = _CHOICE_FIELDS[field]
            wanted = text.strip().upper()
            matches = [c for c in choices if wanted in (c.value.upper(), c.name)]
            if not matches:
                allowed = ", ".join(c.value for c in choices)
                return VitalCheck(
                    field, None, error=_("Choose one of: {choices}").format(choices=allowed)
                )
            value = matches[0]
        else:
            try:
                value = parse_number(text)
            except InputError as error:
                return VitalCheck(field, None, error=error.message)
        try:
            warnings = check_vitals(Vitals(**{field: value}))
        except ImpossibleVital as error:
            message = _("{name} {value} is impossible (accepted {low} to {high}): re-measure.")
            return VitalCheck(
                field,
                None,
                error=message.format(
                    name=vital_name(field),
                    value=f"{error.value:g}" if isinstance(error.value, float) else error.value,
                    low=f"{error.low:g}",
                    high=f"{error.high:g}",
                ),
            )
        except ProtocolError as error:
            return VitalCheck(field, None, error=str(error))
        number = None if field in _CHOICE_FIELDS else float(value)
        shown = "; ".join(warning_text(w) for w in warnings)
        return VitalCheck(field, number, warning=shown or None)

    def set_vitals(self, encounter: Encounter, typed: dict[str, str]) -> tuple[str, ...]:
        """Store the vitals; raises VitalsError naming each impossible one; returns warnings."""
        checks = [self.check_vital(name, text) for name, text in typed.items()]
        refused = [c for c in checks if not c.accepted]
        if refused:
            raise VitalsError(refused)
        values: dict[str, Any] = {}
        for name, text in typed.items():
            if not text.strip():
                continue
            if name in _CHOICE_FIELDS:
                wanted = text.strip().upper()
                values[name] = next(
                    c for c in _CHOICE_FIELDS[name] if wanted in (c.value.upper(), c.name)
                )
            else:
                values[name] = parse_number(text)
        vitals = Vitals(**values)
        encounter.vitals = vitals
        encounter.vital_warnings = tuple(warning_text(w) for w in check_vitals(vitals))
        encounter.step = step_after("vitals")
        encounter.typed = {}
        self.save_draft(encounter)
        return encounter.vital_warnings

    # -- interview questions ---------------------------------------------------------------------

    def _askable(self, encounter: Encounter) -> tuple[Protocol, list[Question]]:
        """The interview's pending questions that the app asks, in the interview's order.

        A question answered "not known" is not asked again in this encounter (the interview
        would otherwise ask it forever: unknown is not an answer to it).
        """
        from edgemed.interview import VITAL, questions

        protocol = self.protocol_for(encounter)
        findings = [f for f in encounter.findings() if f.reporter.name == "NURSE"]
        suggested = {p.finding_id for p in encounter.proposals if p.present}
        pending = questions(protocol, encounter.patient, encounter.vitals, findings, suggested)
        askable = [
            q
            for q in pending
            if q.key not in encounter.skipped
            and q.key != "age"
            and (q.stage != VITAL or q.key in VITAL_FIELDS)
        ]
        return protocol, askable

    def _checklist(
        self, encounter: Encounter, protocol: Protocol, askable: list[Question]
    ) -> list[SignChoice]:
        """The discriminator checklist, while the nurse has not done it in this encounter:
        every pending discriminator that decides alone (the complaint's suggestions first,
        then by how far it would raise the category, as the interview orders them), after the
        alone discriminators the nurse already confirmed from the complaint (pre-ticked)."""
        from edgemed.interview import DISCRIMINATOR

        if encounter.checklist_done:
            return []
        pending = [
            q.key
            for q in askable
            if q.stage == DISCRIMINATOR
            and q.key in protocol.findings
            and protocol.findings[q.key].alone
        ]
        if not pending:
            return []
        confirmed = [
            p.finding_id
            for p in encounter.proposals
            if p.status is ProposalStatus.CONFIRMED
            and p.present
            and p.finding_id not in encounter.answers
            and p.finding_id in protocol.findings
            and protocol.findings[p.finding_id].alone
            and protocol.findings[p.finding_id].category is not protocol.levels[0].category
            and p.finding_id not in pending
        ]
        choices = []
        for fid in [*confirmed, *pending]:
            definition = protocol.findings[fid]
            ticked = encounter.checklist.get(
                fid, fid in confirmed or encounter.earlier.get(fid) is Presence.PRESENT
            )
            choices.append(
                SignChoice(fid, protocol_text(definition.label), _described(definition), ticked)
            )
        return choices

    def discriminators(self, encounter: Encounter) -> list[SignChoice]:
        """The discriminator checklist as it would be shown now (empty once done or when no
        discriminator that decides alone is left to ask)."""
        protocol, askable = self._askable(encounter)
        return self._checklist(encounter, protocol, askable)

    def set_discriminators(self, encounter: Encounter, ticked: set[str]) -> None:
        """The discriminator checklist submitted: ticked signs are present, the others on the
        list absent (the nurse looked at each). A ticked sign that makes the category the most
        urgent ends the interview (``next_question`` then returns None)."""
        choices = self.discriminators(encounter)
        for choice in choices:
            encounter.answers[choice.finding_id] = (
                Presence.PRESENT if choice.finding_id in ticked else Presence.ABSENT
            )
        encounter.checklist = {c.finding_id: c.finding_id in ticked for c in choices}
        encounter.checklist_done = True
        encounter.step = "questions"
        self.save_draft(encounter)

    def next_question(self, encounter: Encounter) -> QuestionView | None:
        """The interview's next question, or None once the category cannot change any more.

        The discriminators that decide alone are asked together, once, as one checklist (the
        nurse scans the list, as SATS teaches), where the interview would ask the first
        discriminator; what remains is asked one by one (signs that count only with others,
        pregnancy, the measurements the decision needs).
        """
        from edgemed.interview import DISCRIMINATOR, VITAL

        protocol, askable = self._askable(encounter)
        checklist = self._checklist(encounter, protocol, askable)
        listed = {c.finding_id for c in checklist}
        singles = [q for q in askable if q.key not in listed]
        remaining = len(singles) + (1 if checklist else 0)
        asked = len(encounter.answers) + len(encounter.skipped)
        for question in askable:
            if checklist and question.stage == DISCRIMINATOR:
                return QuestionView(
                    key=DISCRIMINATORS_KEY,
                    text=_("Look for each sign on this list: tick every one present."),
                    label=_("Discriminators"),
                    asked=asked,
                    why=_("Each of these signs would raise the category by itself."),
                    remaining=remaining,
                    choices=tuple(checklist),
                )
            vital = question.stage == VITAL
            definition = protocol.findings.get(question.key)
            if question.key == PREGNANCY_KEY:
                return QuestionView(
                    key=question.key,
                    text=question.text,
                    label=_("Pregnancy"),
                    asked=asked,
                    why=question.reason,
                    remaining=remaining,
                )
            earlier = encounter.earlier.get(question.key)
            return QuestionView(
                key=question.key,
                earlier=_(_PRESENCE_WORDS[earlier]) if earlier is not None else "",
                text=question.text,
                label=vital_name(question.key)
                if vital
                else protocol_text(definition.label)
                if definition
                else question.key,
                asked=asked,
                why=question.reason,
                vital=vital,
                remaining=remaining,
            )
        return None

    def unanswer(self, encounter: Encounter, key: str) -> None:
        """Forget the answer to one interview question (the nurse went back to it): a sign's
        yes / no / not known, a measurement or its could-not-be-measured reason, pregnancy, or
        the discriminator checklist (shown again with its ticks)."""
        if key == DISCRIMINATORS_KEY:
            for finding_id in encounter.checklist:
                encounter.answers.pop(finding_id, None)
                encounter.skipped.discard(finding_id)
            encounter.checklist_done = False
            encounter.step = "questions"
            self.save_draft(encounter)
            return
        encounter.skipped.discard(key)
        encounter.answers.pop(key, None)
        encounter.unmeasurable.pop(key, None)
        if key == PREGNANCY_KEY:
            encounter.patient = replace(encounter.patient, pregnant=None)
        elif key in VITAL_FIELDS and encounter.vitals.get(key) is not None:
            changes: dict[str, Any] = {key: None}
            encounter.vitals = replace(encounter.vitals, **changes)
        encounter.step = "questions"
        self.save_draft(encounter)

    def answer(self, encounter: Encounter, finding_id: str, presence: Presence) -> None:
        """The nurse's answer to a question about a sign (not known = not asked again).

        The interview's pregnancy question (key ``pregnant``) sets the patient's pregnancy.
        The discriminator checklist answered as a whole: no = none present (as submitted with
        nothing ticked), not known = each sign on it not known (not asked again).
        """
        if finding_id == DISCRIMINATORS_KEY:
            if presence is Presence.PRESENT:
                raise InputError(_("Tick the signs that are present on the checklist."))
            if presence is Presence.ABSENT:
                self.set_discriminators(encounter, set())
                return
            listed = [c.finding_id for c in self.discriminators(encounter)]
            encounter.skipped.update(listed)
            encounter.checklist = dict.fromkeys(listed, False)
            encounter.checklist_done = True
            self.save_draft(encounter)
            return
        if presence is Presence.UNKNOWN:
            encounter.skipped.add(finding_id)
        if finding_id == PREGNANCY_KEY:
            if presence is not Presence.UNKNOWN:
                encounter.patient = replace(
                    encounter.patient, pregnant=presence is Presence.PRESENT
                )
            self.save_draft(encounter)
            return
        encounter.answers[finding_id] = presence
        self.save_draft(encounter)

    def answer_vital(self, encounter: Encounter, field: str, text: str) -> VitalCheck:
        """A measurement asked for by the interview; empty = could not be measured."""
        if not text.strip():
            encounter.skipped.add(field)
            self.save_draft(encounter)
            return VitalCheck(field, None)
        check = self.check_vital(field, text)
        if check.accepted:
            typed = {k: str(v) for k, v in encounter.vitals.to_dict().items() if v is not None}
            typed[field] = text
            self.set_vitals(encounter, typed)
        return check
