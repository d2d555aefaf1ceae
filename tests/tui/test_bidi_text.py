"""Arabic on a terminal that does not lay it out itself (issue 14): each line reads right to left,
brackets face the right way, and Latin or numeric values (a name, a time, a key) stay whole and
in their place. The expected strings are what the terminal prints, left to right."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from edgemed.i18n import set_language
from edgemed.protocol import Patient
from edgemed.service import Encounter
from edgemed.tui.screens.base import patient_line
from edgemed.tui.screens.dialogs import draft_line
from edgemed.tui.text import display, isolate


@pytest.fixture
def arabic() -> None:
    set_language("ar")


@pytest.mark.usefixtures("arabic")
@pytest.mark.parametrize(
    ("logical", "printed"),
    [
        # A line starting with a Latin key is still right to left: "y = تأكيد" is rightmost.
        ("y = تأكيد، Ctrl+N = التالي.", ".ﻲﻟﺎﺘﻟﺍ = Ctrl+N ،ﺪﻴﻛﺄﺗ = y"),
        # Brackets laid out right to left are drawn mirrored, whatever they hold.
        ("معدل التنفس (/دقيقة)", "(ﺔﻘﻴﻗﺩ/) ﺲﻔﻨﺘﻟﺍ ﻝﺪﻌﻣ"),
        ("الضغط الانقباضي (mmHg)", "(mmHg) ﻲﺿﺎﺒﻘﻧﻻﺍ ﻂﻐﻀﻟﺍ"),
        ("SpO2 (%)", "(%) SpO2"),
        ("[ ? ] ألم: نعم", "ﻢﻌﻧ :ﻢﻟﺃ [ ? ]"),
        # Latin text keeps its own brackets as typed.
        ("chest pain (left)", "chest pain (left)"),
    ],
)
def test_arabic_lines_as_the_terminal_prints_them(logical: str, printed: str) -> None:
    assert display(logical) == printed


@pytest.mark.usefixtures("arabic")
def test_isolated_values_keep_their_place_and_leave_no_marks() -> None:
    line = display("مسودة: " + isolate("John K (34 y)") + " · " + isolate("09:30"))
    # Right to left: the label, then the name, then the time (leftmost).
    assert line == "09:30 · John K (34 y) :ﺓﺩﻮﺴﻣ"
    assert not any("\u2066" <= c <= "\u2069" or c == "\u200f" for c in line)


@pytest.mark.usefixtures("arabic")
def test_the_patient_and_draft_lines_read_right_to_left() -> None:
    encounter = Encounter(
        patient_name="John K",
        patient=Patient(age_years=34),
        started_at=datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc).astimezone(),
    )
    shown = display(patient_line(encounter))
    # The name is the rightmost piece (first read), the arrival time the leftmost.
    assert shown.endswith("John K") and shown.split(" ")[0][:2].isdigit(), shown
    drafted = display(draft_line(encounter))
    assert drafted.endswith("John K"), drafted


def test_left_to_right_languages_are_untouched() -> None:
    set_language("fr")
    text = "Fréquence (/min) : [ ? ] Ctrl+N"
    assert display(text) == text and isolate("John K") == "John K"
