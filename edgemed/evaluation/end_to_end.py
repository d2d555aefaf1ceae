"""End-to-end evaluation: vignette text -> proposals (accepted unread) -> protocol -> label.

Unassisted mode is the lower bound of what edgemed does with no nurse in the loop: every
proposal is accepted as it is. Oracle mode feeds the annotated findings and vitals instead, so a
miss there is the protocol's, not the extraction's. Categories become the file's labels through
a declared mapping (the default red/orange -> em, yellow -> ne, green -> sc is a choice, stated
in docs/evaluation.md, not a published fact).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from edgemed.errors import InputError
from edgemed.evaluation.vignettes import Vignette
from edgemed.i18n import _
from edgemed.protocol import (
    Category,
    Finding,
    Patient,
    Presence,
    Protocol,
    Reporter,
    Vitals,
    assess,
    load_protocol,
    route,
    triage_view,
)
from edgemed.protocol.errors import ProtocolError
from edgemed.protocol.vital_limits import check_vitals
from edgemed.understand.pipeline import understand
from edgemed.understand.proposal import ALL_METHODS, Understanding

DEFAULT_MAPPING: dict[str, str] = {"red": "em", "orange": "em", "yellow": "ne", "green": "sc"}
ORACLE = "oracle"
COMBINED = "combined"
_VITAL_FIELDS = ("rr", "hr", "sbp", "dbp", "temp_c", "spo2", "glucose_mmol")


def parse_mapping(text: str) -> dict[str, str]:
    """``"red=em,orange=em,yellow=ne,green=sc"`` -> a complete category -> label mapping.

    A category may take several reference labels joined by ``|`` (``green=ne|sc``: the file's
    two non-urgent levels both count as GREEN); the first is the one reported, and
    ``label_groups`` reads the others onto it.
    """
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in {c.value for c in Category} or not value.strip():
            raise InputError(
                _("Bad mapping entry {entry!r}: write category=label, e.g. red=em.").format(
                    entry=part.strip()
                )
            )
        mapping[key] = value.strip()
    missing = [c.value for c in Category if c.value not in mapping]
    if missing:
        raise InputError(
            _("The mapping leaves out {categories}: every category needs a label.").format(
                categories=", ".join(missing)
            )
        )
    return mapping


def label_groups(mapping: Mapping[str, str]) -> dict[str, str]:
    """Every reference label -> the label it is scored as (``ne|sc`` -> sc counts as ne)."""
    groups: dict[str, str] = {}
    for value in mapping.values():
        names = [n.strip() for n in value.split("|") if n.strip()]
        for name in names:
            groups.setdefault(name, names[0])
    return groups


def primary_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """The mapping with each group reduced to its first label (what a prediction is called)."""
    return {k: v.split("|")[0].strip() for k, v in mapping.items()}


def labels_most_urgent_first(mapping: Mapping[str, str]) -> list[str]:
    ordered = sorted(Category, key=lambda c: c.urgency)
    primary = primary_mapping(mapping)
    return list(dict.fromkeys(primary[c.value] for c in ordered))


@dataclass(frozen=True)
class Outcome:
    id: str
    locale: str
    label: str
    predicted: str
    category: str
    protocol: str
    findings: tuple[str, ...]
    vitals: Mapping[str, float]
    # The decision lacked measurements it needs: its category is a floor, never a GREEN.
    incomplete: bool = False


@dataclass
class TriageScores:
    n: int
    labels: list[str]
    confusion: dict[str, dict[str, int]]
    exact_agreement: float
    per_label_agreement: dict[str, float]
    most_urgent_label: str
    most_urgent_total: int
    most_urgent_caught: int
    under_triage_most_urgent: float
    under_triage: float
    over_triage: float
    incomplete: int = 0


@dataclass
class ExtractionCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    red_tp: int = 0
    red_fn: int = 0
    negation_errors: int = 0  # annotated as denied, proposed as present
    denied: int = 0

    def add(self, other: ExtractionCounts) -> None:
        for name in ("tp", "fp", "fn", "red_tp", "red_fn", "negation_errors", "denied"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        return {
            **asdict(self),
            "precision": ratio(self.tp, self.tp + self.fp),
            "recall": ratio(self.tp, self.tp + self.fn),
            "red_flag_recall": ratio(self.red_tp, self.red_tp + self.red_fn),
        }


@dataclass
class ModeResult:
    mode: str
    outcomes: list[Outcome] = field(default_factory=list)
    extraction: dict[str, ExtractionCounts] = field(default_factory=dict)  # by locale


def score_triage(outcomes: Sequence[Outcome], labels: Sequence[str]) -> TriageScores:
    """Confusion matrix, agreement, and under/over-triage against the reference labels."""
    rank = {label: i for i, label in enumerate(labels)}
    confusion = {a: {b: 0 for b in labels} for a in labels}
    for o in outcomes:
        confusion[o.label][o.predicted] += 1
    n = len(outcomes)
    agree = sum(confusion[a][a] for a in labels)
    per_label = {
        a: round(confusion[a][a] / total, 3) if (total := sum(confusion[a].values())) else 0.0
        for a in labels
    }
    top = labels[0]
    top_total = sum(confusion[top].values())
    under = sum(1 for o in outcomes if rank[o.predicted] > rank[o.label])
    over = sum(1 for o in outcomes if rank[o.predicted] < rank[o.label])
    not_top = sum(1 for o in outcomes if o.label != top)
    return TriageScores(
        n=n,
        labels=list(labels),
        confusion=confusion,
        exact_agreement=round(agree / n, 3) if n else 0.0,
        per_label_agreement=per_label,
        most_urgent_label=top,
        most_urgent_total=top_total,
        most_urgent_caught=confusion[top][top],
        under_triage_most_urgent=round(1 - confusion[top][top] / top_total, 3)
        if top_total
        else 0.0,
        under_triage=round(under / n, 3) if n else 0.0,
        over_triage=round(over / not_top, 3) if not_top else 0.0,
    )


def _patient(data: Mapping[str, Any]) -> Patient:
    try:
        return Patient.from_dict(dict(data))
    except ProtocolError as error:
        raise InputError(_("Bad patient in the annotations: {error}").format(error=error)) from None


def _plausible_vitals(values: Mapping[str, Any]) -> Vitals:
    """Vitals from proposed numbers (and AVPU / mobility words), dropping any the protocol
    calls impossible or cannot read."""
    vitals = Vitals()
    for name, value in values.items():
        try:
            parsed = Vitals.from_dict({name: value}).get(name)
        except ProtocolError:
            continue
        changes: dict[str, Any] = {name: parsed}
        candidate = replace(vitals, **changes)
        try:
            check_vitals(candidate)
        except ProtocolError:
            continue
        vitals = candidate
    return vitals


def _protocol_for(patient: Patient, forced: str | None) -> Protocol:
    """The vocabulary a nurse's app would use: the primary plus the safety net's signs."""
    return triage_view(load_protocol(forced if forced else route(patient)[0]).id)


def _red_flags(protocol: Protocol) -> set[str]:
    return {
        fid for fid, d in protocol.findings.items() if d.category in (Category.RED, Category.ORANGE)
    }


def _extraction(v: Vignette, protocol: Protocol, u: Understanding) -> ExtractionCounts:
    vocabulary = set(protocol.findings)
    gold = set(v.present) & vocabulary
    proposed = {p.finding_id for p in u.proposals if p.presence is Presence.PRESENT}
    red = _red_flags(protocol) & gold
    denied = set(v.absent) & vocabulary
    return ExtractionCounts(
        tp=len(proposed & gold),
        fp=len(proposed - gold),
        fn=len(gold - proposed),
        red_tp=len(red & proposed),
        red_fn=len(red - proposed),
        negation_errors=len(denied & proposed),
        denied=len(denied),
    )


def _decide(
    v: Vignette,
    protocol: Protocol,
    patient: Patient,
    vitals: Vitals,
    ids: Iterable[str],
    mapping: Mapping[str, str],
    mode: str,
) -> Outcome:
    findings = [
        Finding(fid, Presence.PRESENT, Reporter.NURSE) for fid in ids if fid in protocol.findings
    ]
    decision = assess(patient, vitals, findings, protocol.id)
    return Outcome(
        id=v.id,
        locale=v.locale,
        label=v.label,
        predicted=primary_mapping(mapping)[decision.category.value],
        category=decision.category.value,
        protocol=protocol.id,
        findings=tuple(f.id for f in findings),
        vitals={k: float(x) for k, x in vitals.measured().items() if isinstance(x, int | float)},
        incomplete=decision.incomplete,
    )


def evaluate_vignette(
    v: Vignette,
    mode: str,
    mapping: Mapping[str, str],
    protocol_id: str | None = None,
    engine: Any | None = None,
    nurse_flow: bool = False,
) -> tuple[Outcome, ExtractionCounts | None]:
    """One vignette in one mode ("oracle", a method name, or "combined" = several, "+"-joined).

    ``nurse_flow``: the findings still come from the text, but the patient facts and vitals the
    line gives are used as the nurse would have measured them (over what the text says)."""
    if mode == ORACLE:
        if not v.annotated:
            raise InputError(
                _("Vignette {id} has no annotated findings: --oracle needs them.").format(id=v.id),
                hint=_("Pass --annotations FILE, or use a file whose lines carry findings."),
            )
        patient = _patient(v.patient)
        protocol = _protocol_for(patient, protocol_id)
        vitals = _plausible_vitals(dict(v.vitals))
        return _decide(v, protocol, patient, vitals, v.present, mapping, mode), None
    methods = tuple(mode.split("+"))
    first = understand(v.text, v.locale, _protocol_for(Patient(), protocol_id), methods=())
    numbers = {p.field: p.value for p in first.vitals}
    # "18-month-old" can also read as 18 years: months, when read, win (the engine refuses
    # two ages that disagree).
    months = int(numbers["age_months"]) if "age_months" in numbers else None
    patient = Patient(
        age_years=None if months is not None else numbers.get("age_years"),
        age_months=months,
    )
    read: dict[str, Any] = {k: x for k, x in numbers.items() if k in _VITAL_FIELDS}
    if nurse_flow:
        if v.patient:
            patient = _patient(v.patient)
        read.update(v.vitals)
    protocol = _protocol_for(patient, protocol_id)
    u = understand(v.text, v.locale, protocol, engine=engine, methods=methods)
    vitals = _plausible_vitals(read)
    present = [p.finding_id for p in u.proposals if p.presence is Presence.PRESENT]
    outcome = _decide(v, protocol, patient, vitals, present, mapping, mode)
    counts = None
    if v.annotated:
        # Extraction is scored against the vocabulary of the protocol the annotated patient
        # gets, so a missed age does not hide (or excuse) the findings themselves.
        scored = _protocol_for(_patient(v.patient), protocol_id) if v.patient else protocol
        if scored.id != protocol.id:
            u = understand(v.text, v.locale, scored, engine=engine, methods=methods)
        counts = _extraction(v, scored, u)
    return outcome, counts


def modes_for(methods: Sequence[str], oracle: bool) -> list[str]:
    if oracle:
        return [ORACLE]
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown or not methods:
        raise InputError(
            _("Unknown method(s): {names}.").format(names=", ".join(unknown) or "-"),
            hint=_("Choose among: {names}").format(names=", ".join(ALL_METHODS)),
        )
    modes = list(methods)
    if len(methods) > 1:
        modes.append("+".join(methods))
    return modes


def run_evaluation(
    vignettes: Sequence[Vignette],
    modes: Sequence[str],
    mapping: Mapping[str, str],
    protocol_id: str | None = None,
    engine: Any | None = None,
    tick: Callable[[], None] | None = None,
    nurse_flow: bool = False,
) -> list[ModeResult]:
    """Every vignette through every mode; ``tick`` is called once per vignette and mode."""
    results = []
    for mode in modes:
        result = ModeResult(mode)
        for v in vignettes:
            outcome, counts = evaluate_vignette(v, mode, mapping, protocol_id, engine, nurse_flow)
            result.outcomes.append(outcome)
            if counts is not None:
                result.extraction.setdefault(v.locale, ExtractionCounts()).add(counts)
            if tick is not None:
                tick()
        results.append(result)
    return results


def report(
    results: Sequence[ModeResult], labels: Sequence[str], mapping: Mapping[str, str]
) -> dict[str, Any]:
    """The JSON-ready report: per mode, triage scores, extraction per locale, every outcome."""
    out: dict[str, Any] = {"mapping": dict(mapping), "labels": list(labels), "modes": {}}
    for r in results:
        scores = score_triage(r.outcomes, labels)
        scores.incomplete = sum(1 for o in r.outcomes if o.incomplete)
        extraction = {loc: c.summary() for loc, c in sorted(r.extraction.items())}
        if len(r.extraction) > 1:
            total = ExtractionCounts()
            for c in r.extraction.values():
                total.add(c)
            extraction["all"] = total.summary()
        out["modes"][r.mode] = {
            "triage": asdict(scores),
            "extraction": extraction,
            "outcomes": [asdict(o) for o in r.outcomes],
        }
    return out
