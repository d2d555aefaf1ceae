"""Which measurements are impossible (refused) and which are only implausible (re-measure).

The possible ranges are wide on purpose: they only catch typing errors and unit mix-ups
(Fahrenheit for Celsius, mg/dL for mmol/L). Survivable extremes on record (e.g. accidental
hypothermia near 14 C, heat stroke near 46 C, glucose above 100 mmol/L) stay inside them.
The plausible ranges ask the nurse to re-measure before the value is trusted; they never change
the category.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgemed.protocol.domain import Patient, TriageWarning, Vitals, WarningCode
from edgemed.protocol.errors import ImpossibleVital, InvalidCase


@dataclass(frozen=True)
class VitalLimit:
    field: str
    name: str
    unit: str
    possible: tuple[float, float]
    plausible: tuple[float, float]
    hint: str = ""


LIMITS: tuple[VitalLimit, ...] = (
    VitalLimit("rr", "RR", "breaths/min", (0, 150), (6, 80)),
    VitalLimit("hr", "HR", "beats/min", (0, 350), (25, 250)),
    VitalLimit("sbp", "SBP", "mmHg", (0, 350), (50, 260)),
    VitalLimit("dbp", "DBP", "mmHg", (0, 250), (20, 160)),
    VitalLimit(
        "temp_c",
        "temperature",
        "C",
        (10, 47),
        (32, 42.5),
        hint="Was it measured in Fahrenheit? Enter degrees Celsius.",
    ),
    VitalLimit("spo2", "SpO2", "%", (0, 100), (50, 100)),
    VitalLimit("cap_refill_s", "capillary refill", "s", (0, 60), (0, 10)),
    VitalLimit(
        "glucose_mmol",
        "glucose",
        "mmol/L",
        (0, 150),
        (1, 40),
        hint="Was it measured in mg/dL? Divide by 18 for mmol/L.",
    ),
)

# A zero here is what the nurse found, not a typing error: the protocols' rules ``rr_zero``,
# ``hr_zero`` and ``sbp_zero`` make it RED.
ZERO_MEANS = {"rr": "not breathing", "hr": "no pulse", "sbp": "no measurable blood pressure"}

PATIENT_LIMITS: tuple[tuple[str, float, float], ...] = (
    ("age_years", 0, 130),
    ("age_months", 0, 1560),
    ("weight_kg", 0.2, 400),
    ("height_cm", 20, 260),
)


def check_vitals(vitals: Vitals) -> tuple[TriageWarning, ...]:
    """Warnings for implausible values; ``ImpossibleVital`` for impossible ones."""
    warnings: list[TriageWarning] = []
    for limit in LIMITS:
        value = vitals.get(limit.field)
        if value is None:
            continue
        assert isinstance(value, int | float)
        low, high = limit.possible
        if not low <= value <= high:
            raise ImpossibleVital(limit.field, value, low, high, limit.hint)
        plow, phigh = limit.plausible
        if value == 0 and limit.field in ZERO_MEANS:
            continue  # a rule of the protocol says it: "not breathing", "no pulse"
        if not plow <= value <= phigh:
            warnings.append(
                TriageWarning(
                    WarningCode.IMPLAUSIBLE_VITAL,
                    f"{limit.name} {value:g} {limit.unit} is unusual (expected "
                    f"{plow:g}-{phigh:g}): re-measure before relying on it.",
                    field=limit.field,
                    value=value,
                    low=plow,
                    high=phigh,
                )
            )
    if vitals.sbp is not None and vitals.dbp is not None and vitals.dbp >= vitals.sbp:
        warnings.append(
            TriageWarning(
                WarningCode.DIASTOLIC_NOT_BELOW_SYSTOLIC,
                f"DBP {vitals.dbp:g} is not below SBP {vitals.sbp:g}: re-measure the blood "
                "pressure.",
                field="dbp",
                value=vitals.dbp,
                high=vitals.sbp,
            )
        )
    return tuple(warnings)


def check_patient(patient: Patient) -> None:
    """Refuse ages, weights and heights no patient can have."""
    for field, low, high in PATIENT_LIMITS:
        value = getattr(patient, field)
        if value is not None and not low <= value <= high:
            raise ImpossibleVital(field, value, low, high)
    if patient.pregnant and patient.sex == "male":
        raise InvalidCase("patient: pregnant is true but sex is male; correct one of them.")
    # Both given: they must say the same age ("1 year" and "18 months" agree).
    if (
        patient.age_years is not None
        and patient.age_months is not None
        and abs(patient.age_months / 12.0 - float(patient.age_years)) >= 1.0
    ):
        raise InvalidCase(
            f"patient: age_years {patient.age_years:g} and age_months {patient.age_months} "
            "disagree; give one of them (months for a baby)."
        )
    age = patient.age_in_years
    if patient.pregnant and age is not None and not PREGNANCY_AGES[0] <= age < PREGNANCY_AGES[1]:
        raise InvalidCase(
            f"patient: pregnant is true at age {age:g} years; pregnancy is possible from "
            f"{PREGNANCY_AGES[0]} to {PREGNANCY_AGES[1]} years. Correct the age or pregnancy."
        )


# Ages (years) at which a pregnancy is possible: the question is asked only there, and a
# pregnancy outside them is refused as a typing error. Wide on purpose (early puberty; late
# pregnancies on record).
PREGNANCY_AGES = (8, 60)


def pregnancy_possible(patient: Patient) -> bool:
    """Whether asking "is she pregnant?" makes sense for this patient."""
    if patient.sex == "male":
        return False
    age = patient.age_in_years
    return age is None or PREGNANCY_AGES[0] <= age < PREGNANCY_AGES[1]
