"""Loading protocol data files (``data/*.toml``) into checked, typed ``Protocol`` values.

The loader is strict: an unknown key, a missing source, a level the protocol does not have or a
score row with a gap is refused when the file is read, so a typo can never silently drop a rule.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from edgemed.protocol.definition import (
    CATEGORICAL_FIELDS,
    NUMERIC_FIELDS,
    Conditions,
    FindingDefinition,
    Level,
    Protocol,
    Rule,
    Score,
    ScoreBand,
    ScoreCell,
    ScoreParameter,
    Source,
    Threshold,
)
from edgemed.protocol.domain import AVPU, Category, Mobility
from edgemed.protocol.errors import InvalidProtocolFile, UnknownFinding, UnknownProtocol

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CATEGORICAL_VALUES: dict[str, tuple[str, ...]] = {
    "avpu": tuple(a.value for a in AVPU),
    "mobility": tuple(m.value for m in Mobility),
    "trauma": ("yes", "no"),
}


def data_dir() -> Path:
    return Path(str(resources.files("edgemed.protocol").joinpath("data")))


def available_protocols() -> list[str]:
    """Ids of every protocol data file shipped with edgemed."""
    return sorted(p.stem for p in data_dir().glob("*.toml"))


@functools.cache
def load_protocol(protocol_id: str) -> Protocol:
    """The protocol with this id, read and checked once per process."""
    available = available_protocols()
    if protocol_id not in available:
        raise UnknownProtocol(protocol_id, available)
    return load_protocol_file(data_dir() / f"{protocol_id}.toml")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """A data file's parsed TOML and the sha256 of its bytes (what a decision records)."""
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidProtocolFile(f"{path.name}: not valid TOML: {error}") from error
    return data, hashlib.sha256(raw).hexdigest()


def load_protocol_file(path: Path) -> Protocol:
    """Read and check one protocol file (any path: tests and reviewers use copies)."""
    data, sha256 = read_toml(path)
    return DataReader(path, sha256).protocol(data)


def suggest_findings(protocol: Protocol, finding_id: str) -> list[str]:
    return difflib.get_close_matches(finding_id, list(protocol.findings), n=3, cutoff=0.6)


def finding_definition(protocol: Protocol, finding_id: str) -> FindingDefinition:
    """The definition of ``finding_id``, or ``UnknownFinding`` with close spellings."""
    try:
        return protocol.findings[finding_id]
    except KeyError:
        raise UnknownFinding(
            finding_id, protocol.id, suggest_findings(protocol, finding_id)
        ) from None


class DataReader:
    """Turns the parsed TOML into typed values, naming the place of every mistake."""

    def __init__(self, path: Path, sha256: str) -> None:
        self.path = path
        self.sha256 = sha256
        self.sources: dict[str, Source] = {}
        self.categories: set[Category] = set()

    def fail(self, where: str, message: str) -> InvalidProtocolFile:
        return InvalidProtocolFile(f"{self.path.name}: {where}: {message}")

    def _table(
        self, data: object, where: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(where, "expected a table")
        # Unknown keys first: a misspelt key is the likeliest reason for a "missing" one.
        unknown = sorted(set(data) - set(required) - set(optional))
        if unknown:
            raise self.fail(where, f"unknown key(s) {', '.join(unknown)}")
        missing = [k for k in required if k not in data]
        if missing:
            raise self.fail(where, f"missing {', '.join(missing)}")
        return data

    def category(self, raw: object, where: str, *, declared: bool = True) -> Category:
        try:
            category = Category(raw)
        except ValueError:
            raise self.fail(where, f"level {raw!r} is not red/orange/yellow/green") from None
        if declared and category not in self.categories:
            raise self.fail(where, f"level {raw!r} is not one of this protocol's levels")
        return category

    def source(self, raw: object, where: str) -> str:
        if not isinstance(raw, str) or raw not in self.sources:
            raise self.fail(where, f"source {raw!r} is not declared in [[source]]")
        return raw

    def verified(self, raw: object, where: str) -> bool:
        if not isinstance(raw, bool):
            raise self.fail(where, "verified must be true or false")
        return raw

    def protocol(self, data: Mapping[str, Any]) -> Protocol:
        top = self._table(
            data, "file", ("protocol", "source", "level"), ("finding", "rule", "score")
        )
        head = self._table(
            top["protocol"],
            "[protocol]",
            ("id", "version", "title"),
            ("notes", "applies_to", "age_months_min", "age_months_below"),
        )
        if head["id"] != self.path.stem:
            raise self.fail("[protocol]", f"id {head['id']!r} must match the file name")
        for i, raw in enumerate(top["source"]):
            s = self._table(raw, f"source #{i + 1}", ("id", "citation"), ("url",))
            self.sources[s["id"]] = Source(s["id"], s["citation"], s.get("url", ""))
        levels = self.levels(top["level"])
        self.categories = {lv.category for lv in levels}
        rules: list[Rule] = []
        findings_raw: list[Mapping[str, Any]] = []
        for i, raw in enumerate(top.get("finding", [])):
            f, rule = self.finding(raw, i)
            findings_raw.append(f)
            if rule is not None:
                rules.append(rule)
        known_findings = {f["id"] for f in findings_raw}
        for i, raw in enumerate(top.get("rule", [])):
            rules.append(self.rule(raw, f"rule #{i + 1}", known_findings))
        ids = [r.id for r in rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise self.fail("rules", f"duplicate rule id(s) {', '.join(duplicates)}")
        score = self.score(top["score"]) if "score" in top else None
        return Protocol(
            id=head["id"],
            version=str(head["version"]),
            title=head["title"],
            sha256=self.sha256,
            path=self.path,
            sources=dict(self.sources),
            levels=levels,
            findings=self.finding_definitions(findings_raw, rules),
            rules=tuple(rules),
            score=score,
            notes=head.get("notes", ""),
            applies_to=head.get("applies_to", ""),
            ages=Conditions(
                age_months_min=head.get("age_months_min"),
                age_months_below=head.get("age_months_below"),
            ),
        )

    def levels(self, raw_levels: list[Any]) -> tuple[Level, ...]:
        levels = []
        for i, raw in enumerate(raw_levels):
            where = f"level #{i + 1}"
            lv = self._table(
                raw, where, ("category", "word", "target_minutes", "source", "verified"), ("note",)
            )
            levels.append(
                Level(
                    category=self.category(lv["category"], where, declared=False),
                    word=lv["word"],
                    target_minutes=int(lv["target_minutes"]),
                    source=self.source(lv["source"], where),
                    verified=self.verified(lv["verified"], where),
                    note=lv.get("note", ""),
                )
            )
        ordered = sorted(levels, key=lambda lv: lv.category.urgency)
        if [lv.category for lv in ordered] != [lv.category for lv in levels]:
            raise self.fail("levels", "list levels from the most urgent to the least")
        return tuple(levels)

    def finding(self, raw: object, i: int) -> tuple[Mapping[str, Any], Rule | None]:
        where = f"finding #{i + 1}"
        f = self._table(
            raw,
            where,
            ("id", "label", "description", "question", "source", "verified"),
            ("level", "section", "note"),
        )
        where = f"finding {f['id']}"
        if "level" not in f:
            return f, None
        rule = Rule(
            id=f["id"],
            section=f.get("section", ""),
            text=f["label"],
            category=self.category(f["level"], where),
            source=self.source(f["source"], where),
            verified=self.verified(f["verified"], where),
            findings=(f["id"],),
            note=f.get("note", ""),
        )
        return f, rule

    def rule(self, raw: object, where: str, known_findings: set[str]) -> Rule:
        r = self._table(
            raw,
            where,
            ("id", "text", "source", "verified"),
            (
                "section",
                "level",
                "up_triage",
                "findings",
                "min_findings",
                "also_findings",
                "vital",
                "when",
                "note",
            ),
        )
        where = f"rule {r['id']}"
        for fid in [*r.get("findings", []), *r.get("also_findings", [])]:
            if fid not in known_findings:
                raise self.fail(where, f"finding {fid!r} is not declared in [[finding]]")
        up_triage = bool(r.get("up_triage", False))
        if up_triage == ("level" in r):
            raise self.fail(where, "give exactly one of level or up_triage = true")
        if not r.get("findings") and "vital" not in r and "when" not in r:
            raise self.fail(where, "a rule needs findings, a vital or a when condition")
        when = Conditions()
        if "when" in r:
            w = self._table(
                r["when"], where, (), ("pregnant", "age_months_min", "age_months_below")
            )
            when = Conditions(
                pregnant=w.get("pregnant"),
                age_months_min=w.get("age_months_min"),
                age_months_below=w.get("age_months_below"),
            )
        return Rule(
            id=r["id"],
            section=r.get("section", ""),
            text=r["text"],
            category=None if up_triage else self.category(r["level"], where),
            source=self.source(r["source"], where),
            verified=self.verified(r["verified"], where),
            findings=tuple(r.get("findings", ())),
            min_findings=int(r.get("min_findings", 1)),
            also_findings=tuple(r.get("also_findings", ())),
            vital=self.threshold(r["vital"], where) if "vital" in r else None,
            when=when,
            up_triage=up_triage,
            note=r.get("note", ""),
        )

    def threshold(self, raw: Mapping[str, Any], where: str, field: str | None = None) -> Threshold:
        name = raw.get("field", field)
        if name not in NUMERIC_FIELDS and name not in CATEGORICAL_FIELDS:
            raise self.fail(where, f"unknown measurement {name!r}")
        values = tuple(raw.get("is", ()))
        if name in CATEGORICAL_FIELDS:
            bad = [v for v in values if v not in CATEGORICAL_VALUES[name]]
            if not values or bad:
                raise self.fail(where, f"{name} needs is = [...] from {CATEGORICAL_VALUES[name]}")
        elif values or not any(k in raw for k in ("gt", "ge", "lt", "le")):
            raise self.fail(where, f"{name} needs a bound: gt, ge, lt or le")
        return Threshold(
            field=name,
            gt=raw.get("gt"),
            ge=raw.get("ge"),
            lt=raw.get("lt"),
            le=raw.get("le"),
            any_of=values,
            cell=raw.get("cell", ""),
        )

    def score(self, raw: object) -> Score:
        s = self._table(
            raw, "[score]", ("id", "name", "source", "verified", "parameter", "band"), ("note",)
        )
        source = self.source(s["source"], "[score]")
        verified = self.verified(s["verified"], "[score]")
        parameters = []
        for i, raw_p in enumerate(s["parameter"]):
            where = f"score parameter #{i + 1}"
            p = self._table(raw_p, where, ("field", "label", "cells"), ())
            cells = []
            for j, raw_c in enumerate(p["cells"]):
                cw = f"score {p['field']} cell #{j + 1}"
                c = self._table(
                    raw_c,
                    cw,
                    ("points",),
                    ("gt", "ge", "lt", "le", "is", "cell", "source", "verified", "note"),
                )
                cells.append(
                    ScoreCell(
                        threshold=self.threshold(c, cw, p["field"]),
                        points=int(c["points"]),
                        # A cell without its own source shares the table's.
                        source=self.source(c.get("source", source), cw),
                        verified=self.verified(c.get("verified", verified), cw),
                        note=c.get("note", ""),
                    )
                )
            parameter = ScoreParameter(p["field"], p["label"], tuple(cells))
            self.check_cover(parameter)
            parameters.append(parameter)
        bands = []
        for i, raw_b in enumerate(s["band"]):
            where = f"score band #{i + 1}"
            b = self._table(raw_b, where, ("min", "level"), ("max", "source", "verified"))
            bands.append(
                ScoreBand(
                    min_total=int(b["min"]),
                    max_total=None if "max" not in b else int(b["max"]),
                    category=self.category(b["level"], where),
                    source=self.source(b.get("source", source), where),
                    verified=self.verified(b.get("verified", verified), where),
                )
            )
        score = Score(s["id"], s["name"], tuple(parameters), tuple(bands), source, verified)
        top = sum(p.max_points for p in parameters)
        for total in range(top + 1):
            matching = [b for b in bands if b.min_total <= total <= (b.max_total or top)]
            if len(matching) != 1:
                raise self.fail("score bands", f"total {total} falls in {len(matching)} bands")
        return score

    def check_cover(self, parameter: ScoreParameter) -> None:
        """Every possible value falls in exactly one cell: no gaps, no overlaps."""
        if parameter.field in CATEGORICAL_FIELDS:
            probes: list[float | str] = list(CATEGORICAL_VALUES[parameter.field])
        else:
            edges = {
                b
                for c in parameter.cells
                for b in (c.threshold.gt, c.threshold.ge, c.threshold.lt, c.threshold.le)
                if b is not None
            }
            probes = [-1e9, 1e9]
            for e in edges:
                probes += [e - 1e-6, e, e + 1e-6]
        for value in probes:
            hits = [c for c in parameter.cells if c.threshold.matches(value)]
            if len(hits) != 1:
                raise self.fail(
                    f"score {parameter.field}", f"value {value!r} falls in {len(hits)} cells"
                )

    def finding_definitions(
        self, findings_raw: list[Mapping[str, Any]], rules: list[Rule]
    ) -> dict[str, FindingDefinition]:
        out: dict[str, FindingDefinition] = {}
        for f in findings_raw:
            if f["id"] in out:
                raise self.fail(f"finding {f['id']}", "declared twice")
            using = [
                r
                for r in rules
                if r.category is not None and (f["id"] in r.findings or f["id"] in r.also_findings)
            ]
            if not using:
                raise self.fail(f"finding {f['id']}", "no level and no rule uses it")
            # The finding's own rule when it has one, else the most urgent rule that uses it.
            own = [r for r in using if r.id == f["id"]]
            rule = own[0] if own else min(using, key=lambda r: r.category.urgency)  # type: ignore[union-attr]
            assert rule.category is not None
            out[f["id"]] = FindingDefinition(
                id=f["id"],
                label=f["label"],
                description=f["description"],
                category=rule.category,
                rule_id=rule.id,
                source=self.source(f["source"], f"finding {f['id']}"),
                verified=self.verified(f["verified"], f"finding {f['id']}"),
                question=f["question"],
                alone=bool(own),
            )
        return out
