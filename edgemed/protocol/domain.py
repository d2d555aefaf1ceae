"""The triage domain as typed values: who the patient is, what was measured and found, what was
decided and why. Every type round-trips through plain JSON (``to_dict`` / ``from_dict``) for the
encounter log and the command line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from edgemed.protocol.errors import InvalidCase


class Category(Enum):
    """edgemed's triage categories, most urgent first (the SATS colours without blue)."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    GREEN = "green"

    @property
    def urgency(self) -> int:
        """0 is the most urgent."""
        return _URGENCY[self]

    @property
    def label(self) -> str:
        return _LABELS[self]

    def is_more_urgent_than(self, other: Category) -> bool:
        return self.urgency < other.urgency


_URGENCY = {Category.RED: 0, Category.ORANGE: 1, Category.YELLOW: 2, Category.GREEN: 3}
_LABELS = {
    Category.RED: "Emergency",
    Category.ORANGE: "Very urgent",
    Category.YELLOW: "Urgent",
    Category.GREEN: "Routine",
}


def most_urgent(categories: Iterable[Category]) -> Category:
    """The most urgent of ``categories``; GREEN when there are none."""
    return min(categories, key=lambda c: c.urgency, default=Category.GREEN)


class Presence(Enum):
    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


class Reporter(Enum):
    """Who said so: the nurse (counts) or a model's proposal (counts only once confirmed)."""

    NURSE = "nurse"
    PROPOSAL = "proposal"


class AVPU(Enum):
    """Level of consciousness; C (new confusion) sits between alert and voice."""

    ALERT = "A"
    CONFUSED = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


class Mobility(Enum):
    WALKING = "walking"
    WITH_HELP = "with_help"
    IMMOBILE = "immobile"


def _enum_value(enum: type[Enum], raw: object, where: str) -> Any:
    if isinstance(raw, enum):
        return raw
    for member in enum:
        if raw == member.value or (isinstance(raw, str) and raw.lower() == member.name.lower()):
            return member
    if isinstance(raw, str):
        for member in enum:
            if raw.lower() == str(member.value).lower():
                return member
    allowed = ", ".join(str(m.value) for m in enum)
    raise InvalidCase(f"{where}: {raw!r} is not one of {allowed}.")


def _number(raw: object, where: str) -> float | int | None:
    if raw is None:
        return None
    # bool is an int in Python; "true" is never a measurement.
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InvalidCase(f"{where}: expected a number, got {raw!r}.")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise InvalidCase(f"{where}: expected a finite number, got {raw!r}.")
    if abs(raw) > 1e9:
        shown = f"{raw:.3g}" if isinstance(raw, float) else f"a {len(str(abs(raw)))}-digit number"
        raise InvalidCase(f"{where}: {shown} is not a measurement.")
    return raw


def _optional_bool(raw: object, where: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    raise InvalidCase(f"{where}: expected true, false or null, got {raw!r}.")


def _check_keys(data: object, allowed: Iterable[str], where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidCase(f"{where}: expected an object, got {type(data).__name__}.")
    allowed_set = set(allowed)
    unknown = sorted(str(k) for k in data if k not in allowed_set)
    if unknown:
        raise InvalidCase(
            f"{where}: unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed_set))}."
        )
    return data


@dataclass(frozen=True)
class Patient:
    """Who is being triaged. Children's age is best given in months."""

    age_years: float | None = None
    age_months: int | None = None
    sex: str = "unknown"
    pregnant: bool | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    trauma: bool | None = None

    @property
    def age_in_months(self) -> float | None:
        """Age in months, whichever way it was given (months win when both are)."""
        if self.age_months is not None:
            return float(self.age_months)
        if self.age_years is not None:
            return float(self.age_years) * 12.0
        return None

    @property
    def age_in_years(self) -> float | None:
        months = self.age_in_months
        return None if months is None else months / 12.0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: object) -> Patient:
        d = _check_keys(data, (f.name for f in fields(cls)), "patient")
        months = _number(d.get("age_months"), "patient.age_months")
        if months is not None and months != int(months):
            raise InvalidCase(f"patient.age_months: expected whole months, got {months!r}.")
        sex = d.get("sex", "unknown")
        if sex not in ("female", "male", "unknown"):
            raise InvalidCase(f"patient.sex: {sex!r} is not one of female, male, unknown.")
        patient = cls(
            age_years=_number(d.get("age_years"), "patient.age_years"),
            age_months=None if months is None else int(months),
            sex=sex,
            pregnant=_optional_bool(d.get("pregnant"), "patient.pregnant"),
            weight_kg=_number(d.get("weight_kg"), "patient.weight_kg"),
            height_cm=_number(d.get("height_cm"), "patient.height_cm"),
            trauma=_optional_bool(d.get("trauma"), "patient.trauma"),
        )
        return patient


@dataclass(frozen=True)
class Vitals:
    """What was measured; ``None`` means not measured (never "normal")."""

    rr: float | None = None
    hr: float | None = None
    sbp: float | None = None
    dbp: float | None = None
    temp_c: float | None = None
    spo2: float | None = None
    avpu: AVPU | None = None
    mobility: Mobility | None = None
    cap_refill_s: float | None = None
    glucose_mmol: float | None = None

    def get(self, name: str) -> object:
        return getattr(self, name)

    def measured(self) -> dict[str, object]:
        """The measured values only, JSON-ready."""
        return {k: v for k, v in self.to_dict().items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.value if isinstance(value, Enum) else value
        return out

    @classmethod
    def from_dict(cls, data: object) -> Vitals:
        d = _check_keys(data, (f.name for f in fields(cls)), "vitals")
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = d.get(f.name)
            if f.name == "avpu":
                values[f.name] = None if raw is None else _enum_value(AVPU, raw, "vitals.avpu")
            elif f.name == "mobility":
                values[f.name] = (
                    None if raw is None else _enum_value(Mobility, raw, "vitals.mobility")
                )
            else:
                values[f.name] = _number(raw, f"vitals.{f.name}")
        return cls(**values)


@dataclass(frozen=True)
class Finding:
    """A clinical sign from the protocol's vocabulary, whether it is there, and who said so."""

    id: str
    presence: Presence = Presence.PRESENT
    reporter: Reporter = Reporter.NURSE

    @property
    def counts(self) -> bool:
        """Only what the nurse confirmed as present decides the category."""
        return self.presence is Presence.PRESENT and self.reporter is Reporter.NURSE

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "presence": self.presence.value, "reporter": self.reporter.value}

    @classmethod
    def from_dict(cls, data: object) -> Finding:
        """Accepts ``"stridor"`` or ``{"id": "stridor", "presence": ..., "reporter": ...}``."""
        if isinstance(data, str):
            return cls(id=data)
        d = _check_keys(data, ("id", "presence", "reporter"), "finding")
        finding_id = d.get("id")
        if not isinstance(finding_id, str) or not finding_id:
            raise InvalidCase(f"finding: 'id' must be a non-empty string, got {finding_id!r}.")
        return cls(
            id=finding_id,
            presence=_enum_value(Presence, d.get("presence", "present"), "finding.presence"),
            reporter=_enum_value(Reporter, d.get("reporter", "nurse"), "finding.reporter"),
        )


class ReasonKind(str, Enum):
    """What a reason is, so the app can say it in the nurse's language without reading ``text``.

    ``text`` stays on every reason, in English, for logs and the command line; nothing parses it.
    """

    # A rule of the protocol fired: an emergency sign, a discriminator, a vital sign in a band,
    # an up-triage rule. ``words`` are the rule's own words; ``field``/``value`` the measurement
    # it read, when it read one.
    RULE = "rule"
    # The score landed in a band above the lowest level (or is shown beside a discriminator):
    # ``words`` is the score's name, ``score`` its id, ``total`` and ``band`` the result.
    SCORE = "score"
    # Nothing more urgent fired (the lowest level): ``score``, ``total``, ``band`` when a score
    # was measured, ``score`` alone when it was not.
    BASELINE = "baseline"
    # Not enough measured to go lower (incomplete, or marked could-not-be-measured):
    # ``missing`` and ``unmeasurable`` name the inputs.
    FLOOR = "floor"
    # The nurse's clinical concern raised the category: ``note`` is the nurse's reason.
    CONCERN = "concern"


# A score band: lowest total, highest total (None: no upper end).
Band = tuple[int, int | None]


def _band(raw: object) -> Band | None:
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise InvalidCase(f"reason.band: expected [low, high], got {raw!r}.")
    low, high = raw
    return int(low), None if high is None else int(high)


def _value(raw: object) -> float | int | str | None:
    if raw is None or isinstance(raw, str):
        return raw
    return _number(raw, "value")


@dataclass(frozen=True)
class Reason:
    """One rule that fired: which, to what level, on which inputs, from which source.

    ``protocol`` is empty for the primary protocol's own rules; for a rule of a protocol the
    safety net consulted it names that protocol (and ``rule_id`` is ``<protocol>/<rule>``).
    ``kind`` and the fields after it say what the reason is as data (see ``ReasonKind``);
    ``kind`` is None only for a reason read back from a record written before reasons carried
    one, which is shown by its ``text``.
    """

    rule_id: str
    category: Category
    text: str
    inputs: Mapping[str, object]
    source: str
    verified: bool
    protocol: str = ""
    kind: ReasonKind | None = None
    words: str = ""
    field: str = ""
    value: float | int | str | None = None
    score: str = ""
    total: int | None = None
    band: Band | None = None
    missing: tuple[str, ...] = ()
    unmeasurable: tuple[str, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "category": self.category.value,
            "text": self.text,
            "inputs": dict(self.inputs),
            "source": self.source,
            "verified": self.verified,
        }
        if self.protocol:
            out["protocol"] = self.protocol
        if self.kind is not None:
            out["kind"] = self.kind.value
        optional: dict[str, Any] = {
            "words": self.words,
            "field": self.field,
            "value": self.value,
            "score": self.score,
            "total": self.total,
            "band": None if self.band is None else list(self.band),
            "missing": list(self.missing),
            "unmeasurable": list(self.unmeasurable),
            "note": self.note,
        }
        out.update({k: v for k, v in optional.items() if v not in (None, "", [])})
        return out

    @classmethod
    def from_dict(cls, data: object) -> Reason:
        d = _check_keys(data, (f.name for f in fields(cls)), "reason")
        kind = d.get("kind")
        total = d.get("total")
        return cls(
            rule_id=str(d["rule_id"]),
            category=_enum_value(Category, d["category"], "reason.category"),
            text=str(d["text"]),
            inputs=dict(d.get("inputs", {})),
            source=str(d["source"]),
            verified=bool(d["verified"]),
            protocol=str(d.get("protocol", "")),
            kind=None if kind is None else _enum_value(ReasonKind, kind, "reason.kind"),
            words=str(d.get("words", "")),
            field=str(d.get("field", "")),
            value=_value(d.get("value")),
            score=str(d.get("score", "")),
            total=None if total is None else int(total),
            band=_band(d.get("band")),
            missing=tuple(str(m) for m in d.get("missing", ())),
            unmeasurable=tuple(str(m) for m in d.get("unmeasurable", ())),
            note=str(d.get("note", "")),
        )


class WarningCode(str, Enum):
    """What a warning says, so the app can say it in the nurse's language without reading
    ``text``. No warning ever changes the category."""

    # A model proposed ``finding`` and the nurse has not confirmed it; confirmed, it would
    # raise the category to ``category``.
    UNCONFIRMED_PROPOSAL = "unconfirmed_proposal"
    # ``finding`` was answered "not known"; present, it would raise the category to ``category``.
    FINDING_UNKNOWN = "finding_unknown"
    # The measurement ``field`` was not taken; its worst value would reach ``category``.
    MISSING_INPUT = "missing_input"
    # Patient facts not recorded (``fields``: trauma, pregnancy, age; empty when none of those
    # names it); knowing them could raise the category to ``category``.
    NOT_RECORDED = "not_recorded"
    # The score ``score`` is ``total`` from what was measured; with ``fields`` not measured it
    # could reach ``worst``, i.e. ``category``.
    SCORE_INCOMPLETE = "score_incomplete"
    # ``field`` = ``value`` is possible but unusual (plausible ``low`` to ``high``): re-measure.
    IMPLAUSIBLE_VITAL = "implausible_vital"
    # The diastolic pressure ``value`` is not below the systolic ``high``: re-measure.
    DIASTOLIC_NOT_BELOW_SYSTOLIC = "diastolic_not_below_systolic"
    # The nurse's concern at ``category`` is recorded; the protocol already reached ``reached``.
    CONCERN_NOT_HIGHER = "concern_not_higher"


def _optional_category(raw: object, where: str) -> Category | None:
    return None if raw is None else _enum_value(Category, raw, where)


@dataclass(frozen=True)
class TriageWarning:
    """Something the nurse should know or do that never changes the category (see
    ``WarningCode`` for what each code carries). ``code`` is None only for a warning read back
    from a record written before warnings carried one: it is shown by its ``text``."""

    code: WarningCode | None
    text: str
    finding: str = ""
    field: str = ""
    fields: tuple[str, ...] = ()
    category: Category | None = None
    reached: Category | None = None
    score: str = ""
    total: int | None = None
    worst: int | None = None
    value: float | int | None = None
    low: float | int | None = None
    high: float | int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": None if self.code is None else self.code.value}
        out["text"] = self.text
        optional: dict[str, Any] = {
            "finding": self.finding,
            "field": self.field,
            "fields": list(self.fields),
            "category": None if self.category is None else self.category.value,
            "reached": None if self.reached is None else self.reached.value,
            "score": self.score,
            "total": self.total,
            "worst": self.worst,
            "value": self.value,
            "low": self.low,
            "high": self.high,
        }
        out.update({k: v for k, v in optional.items() if v not in (None, "", [])})
        return out

    @classmethod
    def from_dict(cls, data: object) -> TriageWarning:
        """Accepts a record's warning object, or the plain sentence older records kept."""
        if isinstance(data, str):
            return cls(code=None, text=data)
        d = _check_keys(data, (f.name for f in fields(cls)), "warning")
        code = d.get("code")
        total, worst = d.get("total"), d.get("worst")
        return cls(
            code=None if code is None else _enum_value(WarningCode, code, "warning.code"),
            text=str(d.get("text", "")),
            finding=str(d.get("finding", "")),
            field=str(d.get("field", "")),
            fields=tuple(str(f) for f in d.get("fields", ())),
            category=_optional_category(d.get("category"), "warning.category"),
            reached=_optional_category(d.get("reached"), "warning.reached"),
            score=str(d.get("score", "")),
            total=None if total is None else int(total),
            worst=None if worst is None else int(worst),
            value=_number(d.get("value"), "warning.value"),
            low=_number(d.get("low"), "warning.low"),
            high=_number(d.get("high"), "warning.high"),
        )


class RoutingCode(str, Enum):
    """Why a decision carries a routing note, so the app can say it in the nurse's language
    without reading ``text`` (English, for logs and the command line; nothing parses it)."""

    # A child under 12 years: triaged with WHO ETAT (no validated paediatric score encoded).
    CHILD = "child"
    # No age and no height: the adult protocol was used.
    AGE_NOT_GIVEN = "age_not_given"
    # No age, height over 150 cm: the adult protocol was used.
    TALL_NO_AGE = "tall_no_age"
    # No age, height 150 cm or less: triaged as a child.
    SHORT_NO_AGE = "short_no_age"
    # ``protocol`` was chosen (forced) for a patient outside the ages it is meant for
    # (``age_months_min`` to under ``age_months_below``); by age edgemed would use ``routed``.
    FORCED = "forced"


@dataclass(frozen=True)
class RoutingNote:
    """Why this protocol for this patient, when it matters (see ``RoutingCode`` for what each
    code carries). ``code`` is None only for a note read back from a record written before
    notes carried one (a plain sentence): it is shown by its ``text``."""

    code: RoutingCode | None
    text: str
    protocol: str = ""
    routed: str = ""
    age_months_min: float | None = None
    age_months_below: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": None if self.code is None else self.code.value}
        out["text"] = self.text
        optional: dict[str, Any] = {
            "protocol": self.protocol,
            "routed": self.routed,
            "age_months_min": self.age_months_min,
            "age_months_below": self.age_months_below,
        }
        out.update({k: v for k, v in optional.items() if v not in (None, "")})
        return out

    @classmethod
    def from_dict(cls, data: object) -> RoutingNote:
        """Accepts a record's note object, or the plain sentence older records kept."""
        if isinstance(data, str):
            return cls(code=None, text=data)
        d = _check_keys(data, (f.name for f in fields(cls)), "routing_note")
        code = d.get("code")
        return cls(
            code=None if code is None else _enum_value(RoutingCode, code, "routing_note.code"),
            text=str(d.get("text", "")),
            protocol=str(d.get("protocol", "")),
            routed=str(d.get("routed", "")),
            age_months_min=_number(d.get("age_months_min"), "routing_note.age_months_min"),
            age_months_below=_number(d.get("age_months_below"), "routing_note.age_months_below"),
        )


# A reason for a clinical concern raised by the nurse must say something, and stay short.
CONCERN_REASON_MAX = 500


@dataclass(frozen=True)
class Concern:
    """The nurse's clinical concern: raise the category to ``category``, for ``reason``.

    SATS and IITT both let the nurse up-triage on clinical judgement; nothing lets anyone
    down-triage, so a concern below the category the protocol reached changes nothing.
    """

    category: Category
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category.value, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: object) -> Concern:
        d = _check_keys(data, ("category", "reason"), "concern")
        if "category" not in d:
            raise InvalidCase("concern: 'category' is required (red, orange, yellow or green).")
        reason = d.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidCase("concern: give a 'reason' for the clinical concern.")
        if len(reason) > CONCERN_REASON_MAX:
            raise InvalidCase(
                f"concern: the reason is longer than {CONCERN_REASON_MAX} characters."
            )
        return cls(_enum_value(Category, d["category"], "concern.category"), reason.strip())


@dataclass(frozen=True)
class Consulted:
    """One protocol consulted for a decision: the exact file, and the level it reached (on the
    primary's scale)."""

    id: str
    version: str
    sha256: str
    role: str  # "primary" or "net"
    category: Category

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "sha256": self.sha256,
            "role": self.role,
            "category": self.category.value,
        }

    @classmethod
    def from_dict(cls, data: object) -> Consulted:
        d = _check_keys(data, (f.name for f in fields(cls)), "consulted")
        return cls(
            id=str(d["id"]),
            version=str(d["version"]),
            sha256=str(d["sha256"]),
            role=str(d["role"]),
            category=_enum_value(Category, d["category"], "consulted.category"),
        )


@dataclass(frozen=True)
class Decision:
    """The triage result: category, target time, every reason, and the exact protocols used.

    ``incomplete``: an input the decision needs (``missing``) was not measured, so the category
    is a floor ("at least"), never a verdict; ``unmeasurable`` records the inputs the nurse
    marked "could not be measured" and why (that finishes the decision, never lowers it).
    """

    category: Category
    target_minutes: int  # 0 = immediate
    reasons: tuple[Reason, ...]
    warnings: tuple[TriageWarning, ...]
    protocol_id: str
    protocol_version: str
    protocol_sha256: str
    routing_note: RoutingNote | None = None
    # The protocol's own word for the level (e.g. ETAT "Priority"), beside edgemed's colour.
    protocol_level: str = ""
    incomplete: bool = False
    missing: tuple[str, ...] = ()
    unmeasurable: Mapping[str, str] = field(default_factory=dict)
    concern: Concern | None = None
    consulted: tuple[Consulted, ...] = ()
    net_version: str = ""
    net_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "label": self.category.label,
            "protocol_level": self.protocol_level,
            "target_minutes": self.target_minutes,
            "incomplete": self.incomplete,
            "missing": list(self.missing),
            "unmeasurable": dict(self.unmeasurable),
            "concern": None if self.concern is None else self.concern.to_dict(),
            "reasons": [r.to_dict() for r in self.reasons],
            "warnings": [w.to_dict() for w in self.warnings],
            "protocol_id": self.protocol_id,
            "protocol_version": self.protocol_version,
            "protocol_sha256": self.protocol_sha256,
            "consulted": [c.to_dict() for c in self.consulted],
            "net_version": self.net_version,
            "net_sha256": self.net_sha256,
            "routing_note": None if self.routing_note is None else self.routing_note.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: object) -> Decision:
        allowed = [f.name for f in fields(cls)] + ["label"]
        d = _check_keys(data, allowed, "decision")
        concern = d.get("concern")
        note = d.get("routing_note")
        return cls(
            category=_enum_value(Category, d["category"], "decision.category"),
            target_minutes=int(d["target_minutes"]),
            reasons=tuple(Reason.from_dict(r) for r in d["reasons"]),
            warnings=tuple(TriageWarning.from_dict(w) for w in d.get("warnings", ())),
            protocol_id=str(d["protocol_id"]),
            protocol_version=str(d["protocol_version"]),
            protocol_sha256=str(d["protocol_sha256"]),
            routing_note=None if not note else RoutingNote.from_dict(note),
            protocol_level=str(d.get("protocol_level", "")),
            incomplete=bool(d.get("incomplete", False)),
            missing=tuple(str(m) for m in d.get("missing", ())),
            unmeasurable={str(k): str(v) for k, v in dict(d.get("unmeasurable") or {}).items()},
            concern=None if concern is None else Concern.from_dict(concern),
            consulted=tuple(Consulted.from_dict(c) for c in d.get("consulted", ())),
            net_version=str(d.get("net_version", "")),
            net_sha256=str(d.get("net_sha256", "")),
        )
