"""Questions to a decision: how many the nurse answers on the questions screen, per case.

Each case of the clinical case set (tests/data/clinical_cases.jsonl) goes through the service as
the nurse would: the patient's basics, the emergency signs ticked from the case, the vitals typed
on the vitals screen, then the interview's questions answered from the case (a sign in the case's
findings is "yes", any other "no"; the discriminator checklist, one question, has the case's
findings ticked; a measurement the case has is typed, one it lacks is "could not be measured"
with no reason). Counted: the questions asked until the interview stops.

Two nurse flows: ``vitals typed`` (the vitals screen filled from the case) and ``vitals asked``
(the vitals screen left empty: every vital the decision needs becomes a question). The target
(issue 14) is at most 8 questions for a walking, talking, low-acuity adult.

Run: ``python -m bench questions`` (about a minute on a laptop).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from edgemed.protocol import Presence
from edgemed.service import Encounter, Session
from edgemed.settings import Settings

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "clinical_cases.jsonl"
CHEAP_KEYS = {"memory_kib": 1024, "time_cost": 1, "parallelism": 1}
TARGET_LOW_ACUITY = 8
MAX_QUESTIONS = 80


def _session(folder: Path) -> Session:
    session = Session(Settings(), log_path=folder / "encounters.db", key_cost=CHEAP_KEYS)
    session.settings = session.settings.with_changes(setup_done=True)
    from edgemed.service.log import EncounterLog

    session._log = EncounterLog.create(session.log_path, "bench", "bench passphrase 1", CHEAP_KEYS)
    session.user = "bench"
    return session


def _age(patient: dict[str, Any]) -> str:
    if patient.get("age_months") is not None:
        return f"{patient['age_months']}m"
    return f"{patient.get('age_years', 30)}"


def _yes_no(value: object) -> bool | None:
    return None if value is None else bool(value)


def count_questions(session: Session, data: dict[str, Any], vitals_typed: bool) -> int:
    """The questions one case takes through the service before the interview stops."""
    case = data["case"]
    patient = case.get("patient", {})
    findings = {str(f) if isinstance(f, str) else str(f["id"]) for f in case.get("findings", [])}
    vitals = {k: str(v) for k, v in case.get("vitals", {}).items()}
    encounter: Encounter = session.new_encounter()
    session.set_patient(
        encounter,
        name=data["id"],
        age=_age(patient),
        sex=str(patient.get("sex", "unknown")),
        pregnant=_yes_no(patient.get("pregnant")),
        trauma=_yes_no(patient.get("trauma")),
        complaint=data["title"],
    )
    signs = {s.finding_id for s in session.emergency_signs(encounter)}
    if session.set_signs(encounter, findings & signs):
        return 0  # a red sign ends the interview: no questions
    session.set_vitals(encounter, vitals if vitals_typed else {})
    asked = 0
    while asked < MAX_QUESTIONS:
        question = session.next_question(encounter)
        if question is None:
            break
        asked += 1
        if question.checklist:
            ticked = {c.finding_id for c in question.choices} & findings
            session.set_discriminators(encounter, ticked)
        elif question.vital:
            session.answer_vital(encounter, question.key, vitals.get(question.key, ""))
        elif question.key == "pregnant":
            pregnant = patient.get("pregnant")
            presence = (
                Presence.UNKNOWN
                if pregnant is None
                else (Presence.PRESENT if pregnant else Presence.ABSENT)
            )
            session.answer(encounter, question.key, presence)
        else:
            presence = Presence.PRESENT if question.key in findings else Presence.ABSENT
            session.answer(encounter, question.key, presence)
    session.discard(encounter)
    return asked


def _low_acuity_walking_adult(data: dict[str, Any]) -> bool:
    case = data["case"]
    vitals = case.get("vitals", {})
    years = case.get("patient", {}).get("age_years")
    return (
        data["expected"] == "green"
        and years is not None
        and years >= 12
        and vitals.get("avpu", "A") == "A"
        and vitals.get("mobility", "walking") == "walking"
    )


def _summary(counts: list[int]) -> str:
    if not counts:
        return "n=0"
    return (
        f"n={len(counts)} median {statistics.median(counts):g} "
        f"p90 {sorted(counts)[int(0.9 * (len(counts) - 1))]} max {max(counts)}"
    )


def main() -> None:
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line]
    with tempfile.TemporaryDirectory() as folder:
        session = _session(Path(folder))
        for vitals_typed in (True, False):
            flow = "vitals typed" if vitals_typed else "vitals asked"
            counts = {c["id"]: count_questions(session, c, vitals_typed) for c in cases}
            low = [counts[c["id"]] for c in cases if _low_acuity_walking_adult(c)]
            print(f"{flow:13s} all cases      {_summary(list(counts.values()))}")
            for group in sorted({c["group"] for c in cases}):
                in_group = [counts[c["id"]] for c in cases if c["group"] == group]
                print(f"{flow:13s} {group:14s} {_summary(in_group)}")
            verdict = "met" if low and max(low) <= TARGET_LOW_ACUITY else "NOT met"
            print(
                f"{flow:13s} low-acuity walking adults {_summary(low)} "
                f"(target <= {TARGET_LOW_ACUITY}: {verdict})"
            )
            worst = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
            print(f"{flow:13s} most questions: " + ", ".join(f"{k} {v}" for k, v in worst))
        session.close()


if __name__ == "__main__":
    main()
