"""Which screen shows which step of an encounter (used to go on, and to resume a draft)."""

from __future__ import annotations

from edgemed.service import Encounter
from edgemed.tui.screens.base import EncounterScreen


def screen_for(encounter: Encounter) -> EncounterScreen:
    from edgemed.tui.screens.patient import PatientScreen
    from edgemed.tui.screens.proposals import ProposalsScreen
    from edgemed.tui.screens.questions import QuestionsScreen
    from edgemed.tui.screens.signs import SignsScreen
    from edgemed.tui.screens.vitals import VitalsScreen

    steps: dict[str, type[EncounterScreen]] = {
        "patient": PatientScreen,
        "proposals": ProposalsScreen,
        "signs": SignsScreen,
        "vitals": VitalsScreen,
        "questions": QuestionsScreen,
    }
    return steps.get(encounter.step, QuestionsScreen)(encounter)
