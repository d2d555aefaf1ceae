"""One triage assessment: median and p99, against references measured in the same run.

References: (1) a bare Python function doing the adult TEWS arithmetic for the same vitals (the
least any implementation must do), (2) a JSON round trip of the case (what the CLI and the store
do around every assessment anyway). Also: loading the three protocol files once, against
parsing the same TOML bytes alone.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial

from edgemed.protocol import AVPU, Finding, Mobility, Patient, Reporter, Vitals, assess
from edgemed.protocol.library import available_protocols, data_dir, load_protocol, tomllib

ROUNDS = 3000

# A mix a clinic sees: complete and partial vitals, a proposal, a child, the IITT tool.
CASES: list[tuple[Patient, Vitals, list[Finding], str | None]] = [
    (
        Patient(age_years=34, sex="female", pregnant=False, trauma=False),
        Vitals(
            rr=18,
            hr=96,
            sbp=118,
            dbp=76,
            temp_c=37.4,
            spo2=97,
            avpu=AVPU.ALERT,
            mobility=Mobility.WALKING,
            glucose_mmol=5.8,
        ),
        [Finding("abdominal_pain")],
        None,
    ),
    (
        Patient(age_years=61, sex="male"),
        Vitals(hr=124, rr=26, sbp=88),
        [Finding("chest_pain", reporter=Reporter.PROPOSAL)],
        None,
    ),
    (Patient(age_months=14), Vitals(hr=170, temp_c=39.4), [Finding("diarrhoea")], None),
    (
        Patient(age_years=45, sex="female"),
        Vitals(hr=135, rr=22, spo2=93, avpu=AVPU.ALERT),
        [Finding("wheezing")],
        "iitt-adult",
    ),
]


def tews_reference(v: Vitals, trauma: bool | None) -> int:
    """The adult TEWS as a hand-written function: the floor of what assessing costs."""
    score = 0
    if v.mobility is not None:
        score += {Mobility.WALKING: 0, Mobility.WITH_HELP: 1, Mobility.IMMOBILE: 2}[v.mobility]
    if v.rr is not None:
        score += 3 if v.rr < 9 else 0 if v.rr <= 14 else 1 if v.rr <= 20 else 2 if v.rr <= 29 else 3
    if v.hr is not None:
        score += (
            3
            if v.hr < 41
            else 1
            if v.hr <= 50
            else 0
            if v.hr <= 100
            else 1
            if v.hr <= 110
            else 2
            if v.hr <= 129
            else 3
        )
    if v.sbp is not None:
        score += (
            3
            if v.sbp < 71
            else 2
            if v.sbp <= 80
            else 1
            if v.sbp <= 100
            else 0
            if v.sbp <= 199
            else 2
        )
    if v.temp_c is not None:
        score += 2 if v.temp_c < 35 or v.temp_c > 38.4 else 0
    if v.avpu is not None:
        score += {"A": 0, "C": 2, "V": 1, "P": 2, "U": 3}[v.avpu.value]
    return score + (1 if trauma else 0)


def json_reference(case: tuple[Patient, Vitals, list[Finding], str | None]) -> object:
    patient, vitals, findings, protocol = case
    text = json.dumps(
        {
            "patient": patient.to_dict(),
            "vitals": vitals.to_dict(),
            "findings": [f.to_dict() for f in findings],
            "protocol": protocol,
        }
    )
    return json.loads(text)


def _timings(call: Callable[[], object], rounds: int = ROUNDS) -> tuple[list[float], list[float]]:
    """Wall-clock and thread CPU time of each call, in microseconds. On a shared machine the
    wall-clock tail includes time the thread was not running; the CPU time does not."""
    wall, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        call()
        cpu.append((time.thread_time_ns() - start_cpu) / 1000)
        wall.append((time.perf_counter_ns() - start) / 1000)
    return wall, cpu


def _p(values: list[float], q: float) -> float:
    return sorted(values)[int(len(values) * q) - 1]


def _row(name: str, wall: list[float], cpu: list[float], reference: float | None = None) -> str:
    med = statistics.median(wall)
    ratio = "" if reference is None else f"   ratio assess/this {reference / med:7.1f}"
    return (
        f"{name:<22} median {med:8.1f} us  p99 wall {_p(wall, 0.99):8.1f} us"
        f"  p99 cpu {_p(cpu, 0.99):8.1f} us{ratio}"
    )


def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, {ROUNDS} rounds per case")
    # Cold load: the only I/O the engine ever does.
    load_protocol.cache_clear()
    start = time.perf_counter()
    for protocol_id in available_protocols():
        load_protocol(protocol_id)
    load_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    for path in sorted(data_dir().glob("*.toml")):
        tomllib.loads(path.read_text())
    parse_ms = (time.perf_counter() - start) * 1000
    print(
        f"first load of {len(available_protocols())} protocols: {load_ms:.1f} ms "
        f"(TOML parse alone {parse_ms:.1f} ms, ratio {load_ms / parse_ms:.2f})"
    )

    for case in CASES:  # warm the caches
        assess(*case)
    results: dict[str, tuple[list[float], list[float]]] = {
        "assess (one case)": ([], []),
        "reference TEWS func": ([], []),
        "reference JSON trip": ([], []),
    }
    for case in CASES:
        patient, vitals, findings, forced = case
        calls: dict[str, Callable[[], object]] = {
            "assess (one case)": partial(assess, patient, vitals, findings, forced),
            "reference TEWS func": partial(tews_reference, vitals, patient.trauma),
            "reference JSON trip": partial(json_reference, case),
        }
        for name, call in calls.items():
            wall, cpu = _timings(call)
            results[name][0].extend(wall)
            results[name][1].extend(cpu)
    engine_wall, engine_cpu = results["assess (one case)"]
    med = statistics.median(engine_wall)
    for name, (wall, cpu) in results.items():
        print(_row(name, wall, cpu, None if name.startswith("assess") else med))
    print(f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    met = _p(engine_cpu, 0.99) < 1000 and med < 1000
    verdict = "met" if met else "NOT met"
    print(f"target: one assessment well under 1000 us (median, p99 cpu) -> {verdict}")


if __name__ == "__main__":
    main()
