"""`edgemed eval`: the real Semigran file (oracle and unassisted) and its error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgemed.cli import main
from edgemed.protocol import Finding, Patient, Presence, Reporter, Vitals, assess, route
from tests.understand.annotated import DATA, semigran_annotations, semigran_file

SEMIGRAN = semigran_file()
needs_semigran = pytest.mark.skipif(
    SEMIGRAN is None, reason="the published Semigran file is not beside this checkout"
)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _report(tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    target = tmp_path / "report.json"
    code, out, err = _run([*args, "--json", str(target)], capsys)
    assert code == 0, err
    assert "Exact agreement" in out
    return json.loads(target.read_text(encoding="utf-8"))


@needs_semigran
def test_oracle_mode_on_the_real_file_matches_the_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert SEMIGRAN is not None
    data = _report(
        tmp_path,
        ["eval", str(SEMIGRAN), "--annotations", str(semigran_annotations()), "--oracle"],
        capsys,
    )
    triage = data["modes"]["oracle"]["triage"]
    assert triage["n"] == 45
    assert triage["most_urgent_total"] == 15
    assert sum(sum(row.values()) for row in triage["confusion"].values()) == 45
    # Every outcome is exactly what the protocol says for the annotated case.
    annotations = {
        r["id"]: r
        for r in map(json.loads, semigran_annotations().read_text(encoding="utf-8").splitlines())
    }
    for outcome in data["modes"]["oracle"]["outcomes"]:
        record = annotations[outcome["id"]]
        patient = Patient.from_dict(record["patient"])
        protocol_id, _note = route(patient)
        findings = [
            Finding(f["id"], Presence.PRESENT, Reporter.NURSE)
            for f in record["findings"]
            if f["id"] in outcome["findings"]
        ]
        decision = assess(patient, Vitals.from_dict(record["vitals"]), findings, protocol_id)
        assert decision.category.value == outcome["category"]


@needs_semigran
def test_unassisted_mode_reports_extraction_per_locale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert SEMIGRAN is not None
    data = _report(
        tmp_path,
        [
            "eval",
            str(SEMIGRAN),
            "--annotations",
            str(semigran_annotations()),
            "--methods",
            "lexicon",
        ],
        capsys,
    )
    mode = data["modes"]["lexicon"]
    assert mode["triage"]["n"] == 45
    english = mode["extraction"]["en"]
    assert english["tp"] + english["fn"] >= 20
    assert english["red_flag_recall"] >= 0.9


def test_translated_file_reports_every_locale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _report(
        tmp_path, ["eval", str(DATA / "semigran_translated.jsonl"), "--methods", "lexicon"], capsys
    )
    assert set(data["modes"]["lexicon"]["extraction"]) == {"ar", "es", "fr", "pt", "sw", "all"}


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "vignettes.jsonl"
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return path


GOOD = json.dumps({"id": "a", "text": "Crushing chest pain, short of breath.", "label": "em"})


@pytest.mark.parametrize(
    ("lines", "extra", "message"),
    [
        ([GOOD, '{"id": "b", "text": "cough"'], [], "line 2: not valid JSON"),
        (
            [GOOD, json.dumps({"id": "b", "text": "cough", "label": "urgent"})],
            [],
            "unknown label 'urgent'",
        ),
        ([], [], "has no vignettes: it is empty"),
        ([json.dumps({"id": "b", "label": "em"})], [], "no text in the field text"),
        ([GOOD], ["--oracle"], "has no annotated findings"),
        ([GOOD], ["--map", "red=em,orange=em"], "leaves out yellow, green"),
        ([GOOD], ["--methods", "telepathy"], "Unknown method(s): telepathy"),
        ([GOOD], ["--protocol", "nope"], "Unknown protocol nope"),
        (["[1, 2]"], [], "expected a JSON object"),
    ],
)
def test_bad_input_gets_a_clear_message_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    lines: list[str],
    extra: list[str],
    message: str,
) -> None:
    code, _out, err = _run(
        ["eval", str(_write(tmp_path, lines)), "--methods", "lexicon", *extra], capsys
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_a_small_file_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        GOOD,
        json.dumps({"id": "b", "text": "Sore throat, no fever.", "label": "sc"}),
        json.dumps({"id": "c", "text": "Il a des convulsions.", "label": "em", "locale": "fr"}),
    ]
    code, out, err = _run(
        ["eval", str(_write(tmp_path, lines)), "--methods", "lexicon", "--json", "-"], capsys
    )
    assert code == 0, err
    data = json.loads(out)
    triage = data["modes"]["lexicon"]["triage"]
    assert triage["most_urgent_caught"] == 2
    # The self-care line gives no vitals: the floor makes it at least YELLOW (ne), never a
    # plain GREEN, so two of the three agree exactly.
    assert triage["exact_agreement"] == pytest.approx(2 / 3, abs=0.001)
    assert "Evaluating" in err  # the progress bar goes to standard error


@needs_semigran
def test_semigran_annotations_quote_the_vignettes() -> None:
    assert SEMIGRAN is not None
    texts = {
        r["id"]: r["text"]
        for r in map(json.loads, SEMIGRAN.read_text(encoding="utf-8").splitlines())
    }
    records = [
        json.loads(x) for x in semigran_annotations().read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(r["id"] for r in records) == sorted(texts)
    for record in records:
        for item in record["findings"] + record["absent"]:
            assert item["evidence"] in texts[record["id"]], (record["id"], item)


def test_nurse_flow_uses_the_line_s_vitals_and_groups_read_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vitals = {"rr": 16, "hr": 80, "sbp": 120, "temp_c": 36.8, "avpu": "A", "mobility": "walking"}
    lines = [
        GOOD,
        json.dumps(
            {
                "id": "b",
                "text": "Sore throat.",
                "label": "self",
                "patient": {"age_years": 30, "sex": "male", "trauma": False},
                "vitals": vitals,
                "findings": [],
            }
        ),
        json.dumps({"id": "c", "text": "Sore throat.", "label": "ne"}),
    ]
    path = _write(tmp_path, lines)
    # Two of the file's labels (ne, self) read onto one category, without editing the file.
    mapping = "red=em,orange=em,yellow=ne,green=ne|self"
    code, out, err = _run(
        [
            "eval",
            str(path),
            "--methods",
            "lexicon",
            "--map",
            mapping,
            "--nurse-flow",
            "--json",
            "-",
        ],
        capsys,
    )
    assert code == 0, err
    outcomes = {o["id"]: o for o in json.loads(out)["modes"]["lexicon"]["outcomes"]}
    # With the line's vitals measured as a nurse would, the sore throat is a complete GREEN
    # (ne after grouping); without them (line c) the decision is incomplete, never GREEN.
    assert outcomes["b"]["category"] == "green" and not outcomes["b"]["incomplete"]
    assert outcomes["b"]["label"] == "ne" and outcomes["b"]["predicted"] == "ne"
    assert outcomes["c"]["incomplete"] and outcomes["c"]["category"] != "green"
    code, out, _ = _run(["eval", str(path), "--methods", "lexicon", "--map", mapping], capsys)
    assert "decisions incomplete" in out


def test_the_sign_set_mode_reports_per_locale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {
            "id": "1",
            "locale": "en",
            "text": "Bitten by a snake, no fever.",
            "present": ["snake_bite"],
            "absent": ["fever"],
        },
        {
            "id": "2",
            "locale": "fr",
            "text": "Il convulse maintenant.",
            "present": ["seizure_current"],
        },
    ]
    path = tmp_path / "signs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    code, out, err = _run(
        ["eval", "--signs", str(path), "--methods", "lexicon", "--json", "-"], capsys
    )
    assert code == 0, err
    lexicon = json.loads(out)["methods"]["lexicon"]["per_locale"]
    assert lexicon["all"]["urgent_recall"] == 1.0 and lexicon["all"]["negation_error"] == 0.0
    assert set(lexicon) == {"all", "en", "fr"}
    code, _, err = _run(["eval", "--signs", str(path), "--methods", "telepathy"], capsys)
    assert code == 2 and "telepathy" in err
