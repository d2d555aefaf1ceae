"""``edgemed eval FILE.jsonl``: how well understanding + protocol triage published vignettes.

``edgemed eval --cases CASES.jsonl``: the clinical case set (``edgemed.protocol.casebook``),
each case run through the protocol and judged for under- and over-triage.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from edgemed.errors import InputError
from edgemed.evaluation.end_to_end import (
    DEFAULT_MAPPING,
    label_groups,
    labels_most_urgent_first,
    modes_for,
    parse_mapping,
    report,
    run_evaluation,
)
from edgemed.evaluation.vignettes import read_vignettes
from edgemed.i18n import _
from edgemed.understand.proposal import DEFAULT_METHODS, LLM


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render_table(data: dict[str, Any]) -> str:
    """The report as a few plain-text tables (what a reviewer reads in a terminal)."""
    lines: list[str] = []
    labels: list[str] = data["labels"]
    mapping = ", ".join(f"{k}->{v}" for k, v in data["mapping"].items())
    lines.append(_("Category mapping: {mapping}").format(mapping=mapping))
    for mode, body in data["modes"].items():
        t = body["triage"]
        lines.append("")
        lines.append(_("== {mode} ==").format(mode=mode))
        lines.append(
            _(
                "Exact agreement {agree} ({n} vignettes); {top} caught {caught}/{total}; "
                "under-triage of {top} {under}; over-triage {over}"
            ).format(
                agree=_percent(t["exact_agreement"]),
                n=t["n"],
                top=t["most_urgent_label"],
                caught=t["most_urgent_caught"],
                total=t["most_urgent_total"],
                under=_percent(t["under_triage_most_urgent"]),
                over=_percent(t["over_triage"]),
            )
        )
        if t.get("incomplete"):
            lines.append(
                _(
                    "{n} decisions incomplete (measurements missing): shown at their floor "
                    "category, never as GREEN"
                ).format(n=t["incomplete"])
            )
        width = max(8, *(len(x) for x in labels))
        lines.append(
            _("reference \\ predicted").ljust(22) + "".join(x.rjust(width) for x in labels)
        )
        for a in labels:
            row = "".join(str(t["confusion"][a][b]).rjust(width) for b in labels)
            agree = _percent(t["per_label_agreement"][a])
            lines.append(f"{a:<22}{row}   {agree}")
        if body["extraction"]:
            lines.append(
                _("extraction")
                + "  "
                + "  ".join(
                    h.rjust(9)
                    for h in (
                        _("locale"),
                        _("precision"),
                        _("recall"),
                        _("red-flag"),
                        _("negation"),
                    )
                )
            )
            for locale, e in body["extraction"].items():
                negation = f"{e['negation_errors']}/{e['denied']}"
                lines.append(
                    " " * 12
                    + "  ".join(
                        x.rjust(9)
                        for x in (
                            locale,
                            _percent(e["precision"]),
                            _percent(e["recall"]),
                            _percent(e["red_flag_recall"]),
                            negation,
                        )
                    )
                )
    return "\n".join(lines)


def _rate(count: int, total: int, rate: float | None) -> str:
    return f"{count}/{total} ({_percent(rate)})"


def render_cases_table(data: dict[str, Any]) -> str:
    """The case-set report: one row per case, then the totals and the totals per group."""
    lines: list[str] = []
    outcomes = data["outcomes"]
    width = max([len(_("case"))] + [len(o["id"]) for o in outcomes])
    header = (
        _("case").ljust(width)
        + "  "
        + _("group").ljust(14)
        + _("decided").ljust(9)
        + _("least").ljust(9)
        + _("expected").ljust(10)
        + _("verdict")
    )
    lines.append(header)
    lines.append("-" * len(header))
    for o in outcomes:
        if o["error"] is not None:
            verdict = _("REFUSED: {error}").format(error=o["error"])
        elif o["under"]:
            verdict = _("UNDER-TRIAGE")
        elif o["over"]:
            verdict = _("over-triage")
        else:
            verdict = _("ok")
        if o["incomplete"]:
            verdict += " " + _("(incomplete)")
        if o["ignored_keys"]:
            verdict += " " + _("[not yet supported: {keys}]").format(
                keys=", ".join(o["ignored_keys"])
            )
        lines.append(
            o["id"].ljust(width)
            + "  "
            + o["group"].ljust(14)
            + (o["decided"] or "-").ljust(9)
            + o["least_urgent"].ljust(9)
            + o["expected"].ljust(10)
            + verdict
        )

    def summary(name: str, t: dict[str, Any]) -> str:
        return _(
            "{name}: {n} cases; under-triage {under}; over-triage {over}; "
            "exact {exact}/{evaluated}; refused {errors}"
        ).format(
            name=name,
            n=t["n"],
            under=_rate(t["under"], t["under_possible"], t["under_rate"]),
            over=_rate(t["over"], t["over_possible"], t["over_rate"]),
            exact=t["exact"],
            evaluated=t["evaluated"],
            errors=t["errors"],
        )

    lines.append("")
    lines.append(summary(_("All"), data["totals"]))
    for group, t in data["by_group"].items():
        lines.append("  " + summary(group, t))
    lines.append(
        _(
            "Under-triage: decided less urgent than the least urgent acceptable category, over "
            "cases whose least urgent is not green. Over-triage: decided more urgent than "
            "expected, over cases whose expected is not red."
        )
    )
    return "\n".join(lines)


def _write_json(data: dict[str, Any], json_out: Path) -> bool:
    """Write ``data``; True when it went to standard output (and nothing else should)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if str(json_out) == "-":
        click.echo(text)
        return True
    json_out.write_text(text + "\n", encoding="utf-8")
    return False


_VIGNETTE_ONLY = (
    "annotations",
    "oracle",
    "methods",
    "mapping_text",
    "text_field",
    "locale",
    "protocol_id",
    "model",
    "nurse_flow",
)


def _evaluate_cases(cases_path: Path, json_out: Path | None) -> None:
    from edgemed.protocol.casebook import CaseBookError, evaluate_cases, load_cases

    try:
        cases = load_cases(cases_path)
    except CaseBookError as error:
        raise InputError(
            _("The case set cannot be read: {message}").format(message=error.message),
            hint=_(
                'Each line: {"id", "group", "title", "sign", "source", "case", '
                '"least_urgent", "expected"}; see docs/evaluation.md (Clinical case set).'
            ),
        ) from None
    data = evaluate_cases(cases).to_dict()
    data["file"] = cases_path.name
    if json_out is not None and _write_json(data, json_out):
        return
    click.echo(render_cases_table(data))


def _evaluate_signs(
    ctx: click.Context, signs_path: Path, file: Path | None, methods: str, json_out: Path | None
) -> None:
    from edgemed.understand.proposal import ALL_METHODS
    from edgemed.understand.sign_evaluation import (
        DEFAULT_COMBINATIONS,
        evaluate_signs,
        read_sign_set,
        render_signs_table,
    )

    if file is not None:
        raise click.UsageError(_("Give either FILE or --signs, not both."), ctx=ctx)
    default = ctx.get_parameter_source("methods") is click.core.ParameterSource.DEFAULT
    combinations = (
        list(DEFAULT_COMBINATIONS)
        if default
        else [m.strip() for m in methods.split(",") if m.strip()]
    )
    unknown = sorted({m for c in combinations for m in c.split("+")} - set(ALL_METHODS))
    if unknown:
        raise InputError(
            _("Unknown method(s): {names}.").format(names=", ".join(unknown)),
            hint=_("Choose among: {names}").format(names=", ".join(ALL_METHODS)),
        )
    rows = read_sign_set(signs_path)
    with click.progressbar(
        length=len(rows) * len(combinations), label=_("Evaluating"), file=sys.stderr
    ) as bar:
        data = evaluate_signs(signs_path, combinations, tick=lambda: bar.update(1))
    if json_out is not None and _write_json(data, json_out):
        return
    click.echo(render_signs_table(data))


@click.command(
    "eval",
    help=_(
        "Triage every vignette in FILE.jsonl and compare with its reference label.\n\n"
        'Each line: {"id", "text", "reference_triage" or "label"}, optionally "locale", '
        '"patient", "vitals", "findings" and "absent" (annotations). Unassisted mode '
        "accepts every proposal as it is (no nurse: the lower bound); --oracle feeds the "
        "annotated findings instead, to separate extraction errors from protocol errors.\n\n"
        "With --cases CASES.jsonl instead of FILE: run the clinical case set through the "
        "protocol and report, per case and per group, under-triage (less urgent than the "
        "case's least_urgent) and over-triage (more urgent than its expected); e.g. "
        "edgemed eval --cases tests/data/clinical_cases.jsonl --json -"
    ),
)
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--cases",
    "cases_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=_(
        "Evaluate a clinical case set (JSONL: case, least_urgent, expected) instead of "
        "vignettes; exit 2 if the file is malformed."
    ),
)
@click.option(
    "--signs",
    "signs_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=_(
        "Score the understanding methods on a labelled sign set (JSONL: text, locale, present, "
        "absent, hedged), per locale: red/orange recall and precision, negation errors, time. "
        "--methods then lists combinations, e.g. lexicon,lexicon+embedding,model,lexicon+model "
        "(the default)."
    ),
)
@click.option(
    "--annotations",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=_("Annotated findings/vitals/patient for FILE's vignettes, matched by id."),
)
@click.option("--oracle", is_flag=True, help=_("Use the annotated findings instead of extraction."))
@click.option(
    "--methods",
    default=",".join(DEFAULT_METHODS),
    show_default=True,
    help=_("Understanding methods to run, each alone and combined: lexicon, embedding, llm."),
)
@click.option(
    "--map",
    "mapping_text",
    default=",".join(f"{k}={v}" for k, v in DEFAULT_MAPPING.items()),
    show_default=True,
    help=_(
        "How categories map onto the file's labels; a category may take several, joined by | "
        "(green=ne|sc counts both of the file's non-urgent labels as GREEN)."
    ),
)
@click.option(
    "--field",
    "text_field",
    default="text",
    show_default=True,
    help=_("Which field of each line holds the text."),
)
@click.option(
    "--locale",
    default="en",
    show_default=True,
    help=_('Language of lines that do not say (their "locale" field wins).'),
)
@click.option(
    "--protocol",
    "protocol_id",
    default=None,
    help=_("Force one protocol instead of routing by age."),
)
@click.option(
    "--model",
    default="default",
    show_default=True,
    help=_("Model for the llm method (an installed id or a path)."),
)
@click.option(
    "--nurse-flow",
    is_flag=True,
    help=_(
        "The real workflow: findings from the text, but the patient facts and vitals the line "
        "gives are used as a nurse would have measured them."
    ),
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("Also write the full report as JSON to this file (- for standard output)."),
)
@click.pass_context
def evaluate(
    ctx: click.Context,
    file: Path | None,
    cases_path: Path | None,
    signs_path: Path | None,
    annotations: Path | None,
    oracle: bool,
    methods: str,
    mapping_text: str,
    text_field: str,
    locale: str,
    protocol_id: str | None,
    model: str,
    nurse_flow: bool,
    json_out: Path | None,
) -> None:
    if signs_path is not None:
        _evaluate_signs(ctx, signs_path, file, methods, json_out)
        return
    if cases_path is not None:
        if file is not None:
            raise click.UsageError(_("Give either FILE or --cases, not both."), ctx=ctx)
        used = [
            name
            for name in _VIGNETTE_ONLY
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        ]
        if used:
            flags = {p.name: p.opts[0] for p in ctx.command.params}
            names = ", ".join(flags[n] for n in used)
            raise click.UsageError(
                _("{options}: only for vignette files, not with --cases.").format(options=names),
                ctx=ctx,
            )
        _evaluate_cases(cases_path, json_out)
        return
    if file is None:
        raise click.UsageError(_("Give a vignette FILE or --cases CASES.jsonl."), ctx=ctx)
    mapping = parse_mapping(mapping_text)
    labels = labels_most_urgent_first(mapping)
    groups = label_groups(mapping)
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    modes = modes_for(chosen, oracle)
    vignettes = [
        replace(v, label=groups[v.label])
        for v in read_vignettes(file, list(groups), text_field, locale, annotations)
    ]
    if protocol_id is not None:
        from edgemed.protocol import available_protocols

        if protocol_id not in available_protocols():
            raise InputError(
                _("Unknown protocol {id}.").format(id=protocol_id),
                hint=_("Available: {ids}").format(ids=", ".join(available_protocols())),
            )
    engine = None
    if LLM in chosen and not oracle:
        from edgemed.inference.opening import open_engine

        engine = open_engine(model)
    with click.progressbar(
        length=len(vignettes) * len(modes),
        label=_("Evaluating"),
        file=sys.stderr,
    ) as bar:

        def tick() -> None:
            bar.update(1)

        results = run_evaluation(
            vignettes, modes, mapping, protocol_id, engine, tick=tick, nurse_flow=nurse_flow
        )
    data = report(results, labels, mapping)
    data["file"] = file.name
    data["annotations"] = annotations.name if annotations else None
    if json_out is not None and _write_json(data, json_out):
        return
    click.echo(render_table(data))
