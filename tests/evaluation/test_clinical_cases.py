"""The clinical case set (tests/data/clinical_cases.jsonl) through the protocol: the acceptance
test for issue 11 (no case under-triaged), the over-triage bound, the loader's errors and
``edgemed eval --cases``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgemed.cli import cli, main
from edgemed.protocol import case as case_module
from edgemed.protocol.casebook import (
    GROUPS,
    CaseBookError,
    evaluate_cases,
    load_cases,
    parse_cases,
    run_case,
)
from edgemed.protocol.domain import Category

CASES = Path(__file__).resolve().parents[1] / "data" / "clinical_cases.jsonl"
MAX_OVER_TRIAGE = 0.5  # the SATS convention's upper bound (PROTOCOL-SOURCES.md, section 2)


def _record(**over: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": "t-01",
        "group": "adult",
        "title": "test",
        "sign": "chest_pain",
        "source": "SATS very urgent: chest pain",
        "case": {"patient": {"age_years": 40}, "findings": ["chest_pain"]},
        "least_urgent": "orange",
        "expected": "red",
    }
    record.update(over)
    return record


def _lines(*records: object) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# ---- the case set itself ---------------------------------------------------------------------


def test_the_case_set_covers_every_group() -> None:
    cases = load_cases(CASES)
    groups = Counter(c.group for c in cases)
    assert len(cases) >= 90
    assert set(groups) == set(GROUPS)
    assert groups["low-acuity"] >= 20
    assert all(c.expected is Category.GREEN for c in cases if c.group == "low-acuity")


def test_low_acuity_cases_carry_full_normal_vitals() -> None:
    """So that the 'no verdict without data' floor cannot be what keeps them off GREEN."""
    for c in load_cases(CASES):
        if c.group != "low-acuity":
            continue
        patient, vitals = c.case["patient"], c.case["vitals"]
        months = patient.get("age_months", (patient.get("age_years") or 0) * 12)
        needed = {"avpu", "rr", "hr", "temp_c"}
        if months >= 144:
            needed |= {"sbp", "mobility"}
            assert "trauma" in patient, c.id
        assert needed <= set(vitals), c.id


def test_no_case_is_under_triaged() -> None:
    """The acceptance test of issue 11: every case at least as urgent as its least_urgent."""
    report = evaluate_cases(load_cases(CASES))
    refused = [f"{o.case.id}: {o.error}" for o in report.outcomes if o.error]
    under = [
        f"{o.case.id}: decided {o.decided.value if o.decided else '-'}, "
        f"least urgent acceptable {o.case.least_urgent.value} ({o.case.source})"
        for o in report.outcomes
        if o.under
    ]
    assert not refused, "refused by the engine:\n" + "\n".join(refused)
    assert not under, "under-triaged:\n" + "\n".join(under)
    assert report.totals.under == 0


def test_over_triage_stays_within_the_convention() -> None:
    report = evaluate_cases(load_cases(CASES))
    rate = report.totals.over_rate
    assert rate is not None
    over = [
        f"{o.case.id}: {o.decided} > {o.case.expected.value}" for o in report.outcomes if o.over
    ]
    assert rate <= MAX_OVER_TRIAGE, "\n".join(over)
    low = report.by_group["low-acuity"]
    assert low.over_rate is not None and low.over_rate <= MAX_OVER_TRIAGE


# ---- the loader --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({k: v for k, v in _record().items() if k != "expected"}), "missing field"),
        (json.dumps(_record(extra=1)), "unknown field"),
        (json.dumps(_record(id="")), "'id' must be a non-empty string"),
        (json.dumps(_record(group="elderly")), "'group' must be one of"),
        (json.dumps(_record(expected="blue")), "'expected' must be one of"),
        (json.dumps(_record(least_urgent="red", expected="green")), "more urgent than"),
        (json.dumps(_record(case=[1])), "'case' must be a JSON object"),
        (json.dumps(_record(case={"vitals": {"hr": "fast"}})), "vitals.hr"),
        (json.dumps(_record(case={"patient": {"age": 3}})), "unknown field"),
        ('{"id": ' + "9" * 5000 + "}", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "line 2"),
    ],
)
def test_a_bad_line_is_named(line: str, words: str) -> None:
    with pytest.raises(CaseBookError) as caught:
        parse_cases(_lines(_record(id="good-01"), line), "set.jsonl")
    assert "set.jsonl, line 2" in caught.value.message
    assert words in caught.value.message
    assert caught.value.line == 2
    assert len(caught.value.message) < 400


def test_duplicate_ids_name_both_lines() -> None:
    with pytest.raises(CaseBookError, match=r"line 3 \(t-01\): id already used on line 1"):
        parse_cases(_lines(_record(), "", _record()), "set.jsonl")


def test_empty_file_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseBookError, match="no cases"):
        parse_cases("\n\n", "empty.jsonl")
    with pytest.raises(CaseBookError, match="is a directory"):
        load_cases(tmp_path)
    with pytest.raises(CaseBookError, match="no such file"):
        load_cases(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CaseBookError, match="not UTF-8"):
        load_cases(binary)


def test_under_and_over_are_judged_against_the_two_categories() -> None:
    cases = parse_cases(
        _lines(
            _record(id="chest", least_urgent="orange", expected="orange"),
            _record(
                id="arrest",
                case={"patient": {"age_years": 40}, "findings": ["cardiac_arrest"]},
                least_urgent="green",
                expected="yellow",
            ),
        )
    )
    report = evaluate_cases(cases)
    chest, arrest = report.outcomes
    assert chest.decided is not None and not chest.decided.is_more_urgent_than(Category.ORANGE)
    assert not chest.under
    assert arrest.decided is Category.RED and arrest.over and not arrest.under
    assert report.totals.over == 1 and report.totals.over_possible == 2
    assert report.totals.under_possible == 1


def test_a_case_the_engine_refuses_is_reported_not_raised() -> None:
    (case,) = parse_cases(
        _lines(_record(case={"patient": {"age_years": 40}, "findings": ["no_such_sign"]}))
    )
    outcome = run_case(case)
    assert outcome.decided is None
    assert outcome.error is not None and "no_such_sign" in outcome.error
    assert not outcome.under and not outcome.over
    assert evaluate_cases([case]).totals.errors == 1


def test_keys_the_engine_does_not_accept_yet_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(case_module, "CASE_KEYS", ("patient", "vitals", "findings", "protocol"))
    record = _record(
        case={
            "patient": {"age_years": 40},
            "findings": ["chest_pain"],
            "concern": {"category": "red", "reason": "grey"},
        }
    )
    (case,) = parse_cases(_lines(record))
    outcome = run_case(case)
    assert outcome.ignored_keys == ("concern",)
    assert outcome.decided is not None


# ---- edgemed eval --cases ----------------------------------------------------------------


def test_cli_prints_a_table_and_totals() -> None:
    outcome = CliRunner().invoke(cli, ["eval", "--cases", str(CASES)])
    assert outcome.exit_code == 0, outcome.output
    assert "low-finger-cut-01" in outcome.output
    assert "under-triage" in outcome.output
    assert "low-acuity:" in outcome.output


def test_cli_json_to_standard_output() -> None:
    outcome = CliRunner().invoke(cli, ["eval", "--cases", str(CASES), "--json", "-"])
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(outcome.output)
    assert data["totals"]["n"] == len(load_cases(CASES))
    assert set(data["by_group"]) == set(GROUPS)
    first = data["outcomes"][0]
    assert {"id", "decided", "least_urgent", "expected", "under", "over"} <= set(first)


def test_cli_json_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    outcome = CliRunner().invoke(cli, ["eval", "--cases", str(CASES), "--json", str(target)])
    assert outcome.exit_code == 0, outcome.output
    assert "All:" in outcome.output
    assert json.loads(target.read_text(encoding="utf-8"))["file"] == CASES.name


def test_cli_help_names_the_case_mode() -> None:
    outcome = CliRunner().invoke(cli, ["eval", "--help"])
    assert outcome.exit_code == 0
    assert "--cases" in outcome.output


def test_cli_bad_file_exits_2_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(_lines(_record(), "{oops"), encoding="utf-8")
    code, out, err = _run(["eval", "--cases", str(bad)], capsys)
    assert code == 2
    assert "bad.jsonl, line 2" in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "args",
    [
        ["eval"],
        ["eval", "FILE", "--cases", "CASES"],
        ["eval", "--cases", "CASES", "--oracle"],
        ["eval", "--cases", "CASES", "--protocol", "sats-adult"],
        ["eval", "--cases", "DIR"],
    ],
)
def test_cli_usage_errors_exit_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {"FILE": str(CASES), "CASES": str(CASES), "DIR": str(tmp_path)}
    code, out, err = _run([names.get(a, a) for a in args], capsys)
    assert code == 2
    assert "Traceback" not in out + err
