"""The safety net across protocols, and the floor for decisions made without data.

``data/net/safety-net.toml`` says, for each primary protocol, which other protocols are also
evaluated for the same patient and how their levels map onto the primary's, and which inputs a
decision needs before it may take the lowest level. A consulted protocol is turned, once per
process, into a copy whose rules reach the primary's levels (``consulted_protocol``); the engine
evaluates the primary and each copy on the same facts and keeps the most urgent result, so a
consulted protocol can only ever raise the category.

``triage_view`` is the primary with the consulted protocols' vocabulary and rules added: what the
interview asks about and what understanding proposes. It is never evaluated itself.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from edgemed.protocol.definition import (
    CATEGORICAL_FIELDS,
    NUMERIC_FIELDS,
    FindingDefinition,
    Protocol,
    Rule,
    Source,
)
from edgemed.protocol.domain import Category, Patient, Vitals
from edgemed.protocol.library import DataReader, load_protocol, read_toml

NET_FILE = "safety-net.toml"


@dataclass(frozen=True)
class Consultation:
    """One consulted protocol for one primary, and how its levels map onto the primary's."""

    primary: str
    protocol: str
    levels: Mapping[Category, Category]
    red_rules: frozenset[str]
    red_when: Mapping[str, tuple[str, ...]]
    up_triage_cap: Category | None
    source: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class Floor:
    """The least urgent level a decision may take while one of ``inputs`` is not measured."""

    protocol: str
    inputs: tuple[str, ...]
    category: Category
    source: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class Relevance:
    """A measurement that matters only with one of these findings or AVPU values."""

    field: str
    findings: frozenset[str]
    avpu: frozenset[str]
    source: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class SafetyNet:
    version: str
    sha256: str
    path: Path
    sources: Mapping[str, str]
    consultations: tuple[Consultation, ...]
    floors: Mapping[str, Floor]
    relevance: Mapping[str, Relevance]
    notes: str = ""

    def consulted_for(self, primary_id: str) -> tuple[Consultation, ...]:
        return tuple(c for c in self.consultations if c.primary == primary_id)


def net_path() -> Path:
    return Path(str(resources.files("edgemed.protocol").joinpath("data", "net", NET_FILE)))


@functools.cache
def load_net() -> SafetyNet:
    """The shipped safety net, read and checked once per process."""
    return load_net_file(net_path())


def load_net_file(path: Path) -> SafetyNet:
    data, sha256 = read_toml(path)
    return _NetReader(path, sha256).read(data)


class _NetReader(DataReader):
    """The protocol files' reader (strict tables, declared sources, verified flags), for the
    net file: levels are checked against the protocols each entry names."""

    def level(self, raw: object, where: str, protocol: Protocol) -> Category:
        category = self.category(raw, where, declared=False)
        if category not in {lv.category for lv in protocol.levels}:
            raise self.fail(where, f"level {raw!r} is not one of {protocol.id}'s levels")
        return category

    def cited(self, raw: Mapping[str, Any], where: str) -> tuple[str, bool]:
        return self.source(raw["source"], where), self.verified(raw["verified"], where)

    def read(self, data: Mapping[str, Any]) -> SafetyNet:
        top = self._table(data, "file", ("net", "source"), ("consult", "floor", "relevant_when"))
        head = self._table(top["net"], "[net]", ("version",), ("notes",))
        for i, raw in enumerate(top["source"]):
            s = self._table(raw, f"source #{i + 1}", ("id", "citation"), ("url",))
            self.sources[s["id"]] = Source(s["id"], s["citation"], s.get("url", ""))
        consultations = [
            self.consultation(raw, f"consult #{i + 1}")
            for i, raw in enumerate(top.get("consult", []))
        ]
        floors: dict[str, Floor] = {}
        for i, raw in enumerate(top.get("floor", [])):
            floor = self.floor(raw, f"floor #{i + 1}")
            if floor.protocol in floors:
                raise self.fail(f"floor #{i + 1}", f"a second floor for {floor.protocol}")
            floors[floor.protocol] = floor
        relevance: dict[str, Relevance] = {}
        for i, raw in enumerate(top.get("relevant_when", [])):
            where = f"relevant_when #{i + 1}"
            r = self._table(
                raw, where, ("field", "source", "verified"), ("findings", "avpu", "note")
            )
            if r["field"] not in NUMERIC_FIELDS + CATEGORICAL_FIELDS:
                raise self.fail(where, f"{r['field']!r} is not a measurement")
            source, verified = self.cited(r, where)
            relevance[r["field"]] = Relevance(
                r["field"],
                frozenset(r.get("findings", ())),
                frozenset(r.get("avpu", ())),
                source,
                verified,
                r.get("note", ""),
            )
        return SafetyNet(
            version=str(head["version"]),
            sha256=self.sha256,
            path=self.path,
            sources={k: v.citation for k, v in self.sources.items()},
            consultations=tuple(consultations),
            floors=floors,
            relevance=relevance,
            notes=head.get("notes", ""),
        )

    def consultation(self, raw: object, where: str) -> Consultation:
        c = self._table(
            raw,
            where,
            ("primary", "protocol", "levels", "source", "verified"),
            ("red_rules", "red_when", "up_triage_cap", "note"),
        )
        primary = load_protocol(c["primary"])
        consulted = load_protocol(c["protocol"])
        if primary.id == consulted.id:
            raise self.fail(where, "a protocol cannot consult itself")
        levels = {
            self.level(k, f"{where} levels", consulted): self.level(v, f"{where} levels", primary)
            for k, v in dict(c["levels"]).items()
        }
        unmapped = [lv.category.value for lv in consulted.levels if lv.category not in levels]
        if unmapped:
            raise self.fail(where, f"levels: {consulted.id} level(s) {unmapped} not mapped")
        for lv in consulted.levels:
            # A mapping may never make a level LESS urgent than its own colour.
            if consulted.map_category(levels[lv.category]).urgency > lv.category.urgency + 1:
                raise self.fail(where, f"levels: {lv.category.value} mapped too low")
        rule_ids = {r.id for r in consulted.rules}
        red_rules = frozenset(c.get("red_rules", ()))
        unknown = sorted(red_rules - rule_ids)
        if unknown:
            raise self.fail(where, f"red_rules: no rule {', '.join(unknown)} in {consulted.id}")
        red_when: dict[str, tuple[str, ...]] = {}
        for rule_id, finding_ids in dict(c.get("red_when", {})).items():
            rule = next((r for r in consulted.rules if r.id == rule_id), None)
            if rule is None:
                raise self.fail(where, f"red_when: no rule {rule_id} in {consulted.id}")
            stray = sorted(set(finding_ids) - set(rule.findings))
            if stray:
                raise self.fail(where, f"red_when: {rule_id} has no finding {', '.join(stray)}")
            red_when[rule_id] = tuple(finding_ids)
        cap = c.get("up_triage_cap")
        source, verified = self.cited(c, where)
        return Consultation(
            primary=primary.id,
            protocol=consulted.id,
            levels=levels,
            red_rules=red_rules,
            red_when=red_when,
            up_triage_cap=None if cap is None else self.level(cap, where, primary),
            source=source,
            verified=verified,
            note=c.get("note", ""),
        )

    def floor(self, raw: object, where: str) -> Floor:
        f = self._table(
            raw, where, ("protocol", "inputs", "category", "source", "verified"), ("note",)
        )
        protocol = load_protocol(f["protocol"])
        inputs = tuple(f["inputs"])
        bad = [i for i in inputs if i not in NUMERIC_FIELDS + CATEGORICAL_FIELDS]
        if bad:
            raise self.fail(where, f"inputs: {', '.join(bad)} is not a measurement")
        source, verified = self.cited(f, where)
        return Floor(
            protocol=protocol.id,
            inputs=inputs,
            category=self.level(f["category"], where, protocol),
            source=source,
            verified=verified,
            note=f.get("note", ""),
        )


def _mapped_rules(consultation: Consultation, consulted: Protocol, primary: Protocol) -> list[Rule]:
    rules: list[Rule] = []
    for rule in consulted.rules:
        rule_id = f"{consulted.id}/{rule.id}"
        if rule.category is None:
            rules.append(replace(rule, id=rule_id))
            continue
        category = consultation.levels[rule.category]
        if rule.id in consultation.red_rules:
            category = Category.RED
        category = primary.map_category(category)
        red_findings = consultation.red_when.get(rule.id)
        if red_findings:
            # The same rule, RED when one of these findings made it fire.
            rules.append(
                replace(
                    rule,
                    id=rule_id,
                    findings=red_findings,
                    min_findings=1,
                    category=primary.map_category(Category.RED),
                )
            )
        rules.append(replace(rule, id=rule_id, category=category))
    return rules


def _definitions(
    findings: Mapping[str, FindingDefinition], rules: list[Rule], prefix: str
) -> dict[str, FindingDefinition]:
    out: dict[str, FindingDefinition] = {}
    for fid, definition in findings.items():
        using = [
            r
            for r in rules
            if r.category is not None and (fid in r.findings or fid in r.also_findings)
        ]
        own = [r for r in using if r.id == f"{prefix}/{fid}"]
        rule = own[0] if own else min(using, key=lambda r: r.category.urgency)  # type: ignore[union-attr]
        assert rule.category is not None
        out[fid] = replace(definition, category=rule.category, rule_id=rule.id, alone=bool(own))
    return out


@functools.cache
def consulted_protocol(primary_id: str, consulted_id: str) -> Protocol:
    """``consulted_id`` as seen from ``primary_id``: its rules reach the primary's levels, rule
    ids carry the consulted protocol's id (``iitt-adult/snake_bite``), its own sha256 stays."""
    net = load_net()
    consultation = next(
        c for c in net.consultations if c.primary == primary_id and c.protocol == consulted_id
    )
    primary = load_protocol(primary_id)
    consulted = load_protocol(consulted_id)
    rules = _mapped_rules(consultation, consulted, primary)
    score = consulted.score
    if score is not None:
        bands = tuple(
            replace(b, category=primary.map_category(consultation.levels[b.category]))
            for b in score.bands
        )
        score = replace(score, bands=bands)
    return replace(
        consulted,
        levels=primary.levels,
        rules=tuple(rules),
        findings=_definitions(consulted.findings, rules, consulted.id),
        score=score,
        up_triage_cap=consultation.up_triage_cap,
    )


def consulted_protocols(primary: Protocol, patient: Patient) -> tuple[Protocol, ...]:
    """The protocols the net adds for this patient: those meant for the patient's age (an
    unknown age consults them all)."""
    out = []
    for consultation in load_net().consulted_for(primary.id):
        view = consulted_protocol(primary.id, consultation.protocol)
        if view.ages.applies(patient) is not False:
            out.append(view)
    return tuple(out)


def floor_for(protocol_id: str) -> Floor | None:
    return load_net().floors.get(protocol_id)


def relevant(field: str, patient: Patient, vitals: Vitals, confirmed: frozenset[str]) -> bool:
    """Whether an unmeasured ``field`` is worth asking for / warning about for this patient."""
    rule = load_net().relevance.get(field)
    if rule is None:
        return True
    avpu = vitals.avpu.value if vitals.avpu is not None else None
    return bool(rule.findings & confirmed) or (avpu is not None and avpu in rule.avpu)


@functools.cache
def triage_view(primary_id: str) -> Protocol:
    """The primary protocol with the consulted protocols' vocabulary and rules added (the
    primary's definition of a sign wins; a sign only a consulted protocol names comes with the
    level it reaches after mapping). For asking and proposing, never for deciding."""
    primary = load_protocol(primary_id)
    findings = dict(primary.findings)
    rules = list(primary.rules)
    for consultation in load_net().consulted_for(primary_id):
        view = consulted_protocol(primary_id, consultation.protocol)
        rules += view.rules
        for fid, definition in view.findings.items():
            mine = findings.get(fid)
            if mine is None:
                findings[fid] = definition
            elif definition.alone and (
                definition.category.is_more_urgent_than(mine.category) or not mine.alone
            ):
                # The net decides it alone, more urgently (or the primary only in company):
                # ask about it as the net would decide it.
                findings[fid] = replace(
                    mine, category=definition.category, rule_id=definition.rule_id, alone=True
                )
    return replace(primary, findings=findings, rules=tuple(rules))
