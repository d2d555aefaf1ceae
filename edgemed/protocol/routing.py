"""Which protocol fits the patient: adults (12 years and over) get SATS, children ETAT; with no
age, the SATS height bands decide (over 150 cm adult, 150 cm or less child).

SATS uses its adult chart "over 12 years or taller than 150 cm". Its paediatric TEWS charts
were not found in a verifiable form, and the IITT child tool's age-banded thresholds neither,
so children are triaged on WHO ETAT's emergency and priority signs, and the note says so.
"""

from __future__ import annotations

from edgemed.protocol.domain import Patient, RoutingCode, RoutingNote

ADULT_PROTOCOL = "sats-adult"
CHILD_PROTOCOL = "etat-child"
ADULT_FROM_MONTHS = 144  # 12 years
ADULT_FROM_HEIGHT_CM = 150
# SATS's paediatric bands by height when the age is not known: 95-150 cm child, < 95 cm infant
# (both are triaged with ETAT here).
CHILD_FROM_HEIGHT_CM = 95

CHILD_NOTE = (
    "Child under 12 years: triaged with WHO ETAT emergency and priority signs. "
    "No validated paediatric early warning score (TEWS) is encoded in edgemed."
)
UNKNOWN_AGE_NOTE = (
    "Age not given: the adult protocol (SATS) was used. "
    "For a child under 12 years, enter the age (the child protocol is etat-child)."
)
TALL_CHILD_NOTE = "Age not given, height over 150 cm: the adult protocol (SATS) was used."
SHORT_CHILD_NOTE = (
    "Age not given, height 150 cm or less: triaged as a child with WHO ETAT "
    "(SATS height bands: 95-150 cm child, under 95 cm infant). Enter the age to confirm."
)


def route(patient: Patient) -> tuple[str, RoutingNote | None]:
    """The protocol id for this patient and, when it matters, a note saying why."""
    months = patient.age_in_months
    if months is None:
        if patient.height_cm is not None:
            if patient.height_cm > ADULT_FROM_HEIGHT_CM:
                return ADULT_PROTOCOL, RoutingNote(RoutingCode.TALL_NO_AGE, TALL_CHILD_NOTE)
            return CHILD_PROTOCOL, RoutingNote(RoutingCode.SHORT_NO_AGE, SHORT_CHILD_NOTE)
        return ADULT_PROTOCOL, RoutingNote(RoutingCode.AGE_NOT_GIVEN, UNKNOWN_AGE_NOTE)
    if months >= ADULT_FROM_MONTHS:
        return ADULT_PROTOCOL, None
    return CHILD_PROTOCOL, RoutingNote(RoutingCode.CHILD, CHILD_NOTE)


# The sentence each code stands for (the app translates these, see ``edgemed.i18n``).
ROUTE_NOTES: dict[RoutingCode, str] = {
    RoutingCode.CHILD: CHILD_NOTE,
    RoutingCode.AGE_NOT_GIVEN: UNKNOWN_AGE_NOTE,
    RoutingCode.TALL_NO_AGE: TALL_CHILD_NOTE,
    RoutingCode.SHORT_NO_AGE: SHORT_CHILD_NOTE,
}
