"""``edgemed assess`` and ``edgemed protocol``: JSON in and out, clear refusals, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgemed.cli import main
from edgemed.protocol import Decision, load_protocol


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_assess_a_case_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps(
            {
                "patient": {"age_years": 34, "sex": "female", "pregnant": True},
                "vitals": {"hr": 118, "rr": 24, "sbp": 92, "avpu": "A", "temp_c": 37.2},
                "findings": ["abdominal_pain", {"id": "stridor", "presence": "absent"}],
            }
        )
    )
    code, out, _ = run(["assess", str(case)], capsys)

    assert code == 0
    decision = Decision.from_dict(json.loads(out))
    assert decision.category.value == "orange"
    assert decision.protocol_id == "sats-adult"
    assert decision.protocol_sha256 == load_protocol("sats-adult").sha256
    assert {r.rule_id for r in decision.reasons} >= {"pregnancy_abdominal", "tews"}


def test_assess_from_flags_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "assess",
            "--age",
            "40",
            "--hr",
            "135",
            "--rr",
            "24",
            "--finding",
            "chest_pain",
            "--explain",
        ],
        capsys,
    )
    assert code == 0
    assert "Category: ORANGE" in out
    assert "within 10 minutes" in out
    assert "chest_pain" in out and "tews" in out
    assert "sats-secondary" in out


def test_assess_json_carries_the_codes_beside_the_readable_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Reasons carry their kind and values, warnings their code and values, each with its
    English text; --explain prints the text, never a structure."""
    args = ["assess", "--age", "40", "--hr", "280"]
    code, out, _ = run(args, capsys)
    assert code == 0
    data = json.loads(out)
    kinds = {r["rule_id"]: r["kind"] for r in data["reasons"]}
    assert kinds["iitt-adult/hr_above_150"] == "rule" and kinds["tews"] == "score"
    tews = next(r for r in data["reasons"] if r["rule_id"] == "tews")
    assert tews["score"] == "tews" and isinstance(tews["total"], int) and len(tews["band"]) == 2
    net = next(r for r in data["reasons"] if r["rule_id"] == "iitt-adult/hr_above_150")
    assert net["protocol"] == "iitt-adult"
    assert (net["kind"], net["field"], net["value"]) == ("rule", "hr", 280)
    assert all(r["text"] for r in data["reasons"])
    codes = {w["code"] for w in data["warnings"]}
    assert "implausible_vital" in codes
    implausible = next(w for w in data["warnings"] if w["code"] == "implausible_vital")
    assert (implausible["field"], implausible["value"], implausible["high"]) == ("hr", 280, 250)
    assert "re-measure" in implausible["text"]
    assert Decision.from_dict(data).to_dict() == data

    code, out, _ = run([*args, "--explain"], capsys)
    assert code == 0
    assert "- HR 280 beats/min is unusual" in out and "'code'" not in out


def test_flags_override_the_case_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"patient": {"age_years": 30}, "vitals": {"glucose_mmol": 5}}))
    code, out, _ = run(["assess", str(case), "--glucose", "2.5"], capsys)
    assert code == 0
    assert json.loads(out)["category"] == "red"


def test_assess_a_child_is_routed_to_etat(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["assess", "--age-months", "1"], capsys)
    decision = json.loads(out)
    assert code == 0
    assert decision["protocol_id"] == "etat-child"
    assert decision["routing_note"]["code"] == "child"
    assert "No validated paediatric" in decision["routing_note"]["text"]
    assert decision["category"] == "orange"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"vitals": {"hr": 80,}', "not valid JSON"),
        ('{"vitals": {"heart_rate": 80}}', "unknown field(s) heart_rate"),
        ('{"findings": ["chest_pian"]}', "Did you mean: chest_pain"),
        ('{"vitals": {"hr": 600}}', "hr = 600 is not physiologically possible"),
        ('{"vitals": {"spo2": 130}}', "spo2 = 130"),
        ('{"vitals": {"temp_c": 90}}', "Fahrenheit"),
        ('{"vitals": {"hr": "fast"}}', "expected a number"),
        ('{"vitals": {"avpu": "X"}}', "not one of A, C, V, P, U"),
        ('{"protocol": "manchester"}', "unknown protocol 'manchester'"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_input_is_refused_with_exit_code_2(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    case = tmp_path / "case.json"
    case.write_text(text)
    code, out, err = run(["assess", str(case)], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_missing_case_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["assess", "/nonexistent/case.json"], capsys)
    assert code == 2
    assert "case file not found" in err


def test_stdin_and_no_traceback_through_the_console_script() -> None:
    """The real entry point, as a nurse's shell runs it."""
    script = "from edgemed.cli import main; main()"
    bad = subprocess.run(
        [sys.executable, "-c", script, "assess", "-"],
        input='{"vitals": {"temp_c": 90}}',
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "temp_c = 90 is not physiologically possible" in bad.stderr
    assert "Traceback" not in bad.stderr
    good = subprocess.run(
        [sys.executable, "-c", script, "assess", "-"],
        input='{"patient": {"age_years": 50}, "findings": ["seizure_current"]}',
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["category"] == "red"


def test_assess_help_documents_the_case_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["assess", "--help"], capsys)
    assert code == 0
    assert '"findings"' in out and '"vitals"' in out and "Exit codes" in out


def test_protocol_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["protocol", "list"], capsys)
    assert code == 0
    for protocol_id in ("sats-adult", "iitt-adult", "etat-child"):
        assert protocol_id in out


def test_protocol_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["protocol", "show", "sats-adult"], capsys)
    assert code == 0
    assert "seizure_current" in out
    assert "< 9=3" in out  # the TEWS row with the encoded (more urgent) reading
    assert "more urgent reading" in out.lower()


def test_protocol_check_lists_unverified_cells_and_sha256(
    capsys: pytest.CaptureFixture[str],
) -> None:
    protocol = load_protocol("sats-adult")
    code, out, _ = run(["protocol", "check", "sats-adult"], capsys)
    assert code == 0
    assert f"sha256: {protocol.sha256}" in out
    assert f"{len(protocol.unverified_cells())} unverified cell(s)" in out
    assert "[tews rr] RR < 9 -> 3 points" in out
    assert "[rule low_spo2]" in out


def test_protocol_check_unknown_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["protocol", "check", "mts"], capsys)
    assert code == 2
    assert "unknown protocol 'mts'" in err and "sats-adult" in err


def test_assess_incomplete_net_concern_and_unmeasurable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        ["assess", "--age", "61", "--finding", "fainting_recent", "--explain"], capsys
    )
    assert code == 0
    assert out.startswith("INCOMPLETE: at least YELLOW")
    assert "Safety net: iitt-adult" in out

    full = ["--age", "30", "--sex", "male", "--rr", "16", "--hr", "80", "--sbp", "120"]
    full += ["--avpu", "A", "--mobility", "walking", "--no-trauma"]
    code, out, _ = run(["assess", *full, "--unmeasurable", "temp_c=no thermometer"], capsys)
    decision = Decision.from_dict(json.loads(out))
    assert code == 0 and not decision.incomplete
    assert decision.unmeasurable == {"temp_c": "no thermometer"}

    code, out, _ = run(
        ["assess", *full, "--temp", "37", "--concern", "orange", "--concern-reason", "grey"], capsys
    )
    decision = Decision.from_dict(json.loads(out))
    assert decision.category.value == "orange" and decision.concern is not None

    code, _, err = run(["assess", *full, "--concern", "orange"], capsys)
    assert code == 2 and "reason" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"vitals": {"hr": ' + "9" * 5000 + "}}", "thousands of digits"),
        ("[" * 100_000 + "]" * 100_000, "nests deeper"),
        ('{"findings": ["' + "x" * 300 + '"]}', "unknown finding"),
        ('{"patient": {"age_years": 2, "sex": "female", "pregnant": true}}', "pregnan"),
        ('{"patient": {"age_years": 40, "age_months": 6}}', "disagree"),
    ],
)
def test_hostile_cases_get_exit_2_and_a_short_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    case = tmp_path / "case.json"
    case.write_text(text)
    code, _, err = run(["assess", str(case)], capsys)
    assert code == 2 and message in err
    assert "Traceback" not in err and len(err) < 600


def test_a_directory_as_the_case_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["assess", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err
