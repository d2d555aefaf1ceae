"""``edgemed eval --signs FILE``: how well each understanding method reads the signs in a labelled
set of complaints, per locale (the frozen held-out sign set, tests/data/signs_heldout.jsonl).

Each line: ``{"id", "locale", "text", "present": [...], "absent": [...], "hedged": [...],
"patient": {...}}``. For every method combination the report gives, per locale and overall:
recall and precision of signs proposed as present (all signs, and the red and orange ones), the
negation error rate (a sign the text denies, proposed as present), and the time per complaint.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgemed.errors import InputError
from edgemed.i18n import _
from edgemed.protocol import Category, Patient, Presence, load_protocol, route, triage_view
from edgemed.protocol.errors import ProtocolError
from edgemed.understand.pipeline import understand

DEFAULT_COMBINATIONS = ("lexicon", "lexicon+embedding", "model", "lexicon+model")


@dataclass
class _Counts:
    hits: int = 0
    false: int = 0
    missed: int = 0
    urgent_hits: int = 0
    urgent_false: int = 0
    urgent_missed: int = 0
    negations: int = 0
    denied: int = 0

    def add(self, said: set[str], truth: set[str], denied: set[str], urgent: set[str]) -> None:
        self.hits += len(said & truth)
        self.false += len(said - truth)
        self.missed += len(truth - said)
        self.urgent_hits += len(said & truth & urgent)
        self.urgent_false += len((said - truth) & urgent)
        self.urgent_missed += len((truth - said) & urgent)
        self.negations += len(said & denied)
        self.denied += len(denied)

    def summary(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return None if b == 0 else round(a / b, 4)

        return {
            "recall": ratio(self.hits, self.hits + self.missed),
            "precision": ratio(self.hits, self.hits + self.false),
            "urgent_recall": ratio(self.urgent_hits, self.urgent_hits + self.urgent_missed),
            "urgent_precision": ratio(self.urgent_hits, self.urgent_hits + self.urgent_false),
            "negation_error": ratio(self.negations, self.denied),
            "counts": self.__dict__.copy(),
        }


def read_sign_set(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(
                _("{file} line {n}: not valid JSON ({error}).").format(
                    file=path.name, n=number, error=error.msg
                )
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise InputError(
                _("{file} line {n}: expected an object with a text.").format(
                    file=path.name, n=number
                )
            )
        rows.append(row)
    if not rows:
        raise InputError(_("{file} has no lines.").format(file=path.name))
    return rows


def _urgent(view: Any) -> set[str]:
    return {
        fid for fid, d in view.findings.items() if d.category in (Category.RED, Category.ORANGE)
    }


def evaluate_signs(
    path: Path,
    combinations: Sequence[str] = DEFAULT_COMBINATIONS,
    tick: Callable[[], None] | None = None,
) -> dict[str, Any]:
    rows = read_sign_set(path)
    out: dict[str, Any] = {"file": str(path), "lines": len(rows), "methods": {}}
    for combination in combinations:
        methods = tuple(combination.split("+"))
        if "model" in methods:
            from edgemed.understand.model_method import load_sign_model

            if load_sign_model() is None:
                out["methods"][combination] = {"skipped": "no sign model installed"}
                continue
        by_locale: dict[str, _Counts] = {}
        times: list[float] = []
        for row in rows:
            try:
                patient = Patient.from_dict(row.get("patient") or {})
            except ProtocolError:
                patient = Patient()
            view = triage_view(load_protocol(route(patient)[0]).id)
            vocabulary = set(view.findings)
            started = time.perf_counter()
            result = understand(row["text"], row.get("locale", "en"), view, methods=methods)
            times.append((time.perf_counter() - started) * 1000)
            said = {p.finding_id for p in result.proposals if p.presence is Presence.PRESENT}
            truth = set(row.get("present", [])) & vocabulary
            denied = set(row.get("absent", [])) & vocabulary
            urgent = _urgent(view)
            for key in (row.get("locale", "en"), "all"):
                by_locale.setdefault(key, _Counts()).add(said, truth, denied, urgent)
            if tick is not None:
                tick()
        out["methods"][combination] = {
            "per_locale": {k: v.summary() for k, v in sorted(by_locale.items())},
            "ms_median": round(statistics.median(times), 2),
            "ms_max": round(max(times), 2),
        }
    return out


def render_signs_table(data: dict[str, Any]) -> str:
    lines = [_("{file}: {n} complaints").format(file=data["file"], n=data["lines"])]
    header = ("method", "locale", "urg.rec", "urg.prec", "recall", "prec", "neg.err", "ms")
    lines.append("  ".join(h.rjust(9) if i else h.ljust(18) for i, h in enumerate(header)))

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    for method, body in data["methods"].items():
        if "skipped" in body:
            lines.append(f"{method:<18}  {body['skipped']}")
            continue
        for locale, s in body["per_locale"].items():
            cells = [
                locale,
                show(s["urgent_recall"]),
                show(s["urgent_precision"]),
                show(s["recall"]),
                show(s["precision"]),
                show(s["negation_error"]),
                f"{body['ms_median']:.1f}" if locale == "all" else "",
            ]
            lines.append(f"{method:<18}  " + "  ".join(c.rjust(9) for c in cells))
    return "\n".join(lines)
