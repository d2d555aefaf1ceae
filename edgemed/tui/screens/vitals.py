"""Step 4: vital signs, checked as they are typed: impossible values refused in place,
implausible ones questioned ("re-measure"), nothing measured left empty (never "normal")."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Input, Label, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.service import VitalsError
from edgemed.service.wording import vital_name, vital_unit
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.text import show

FIELDS = (
    "rr",
    "hr",
    "sbp",
    "dbp",
    "temp_c",
    "spo2",
    "avpu",
    "mobility",
    "cap_refill_s",
    "glucose_mmol",
)


class VitalsScreen(EncounterScreen):
    """One line per vital sign; Enter moves on, Ctrl+N when done."""

    def compose(self) -> ComposeResult:
        measured = self.encounter.vitals.to_dict()
        yield Static(show(_("Vital signs (leave empty what was not measured)")), classes="title")
        with VerticalScroll(id="vitals-form"):
            for field in FIELDS:
                unit = vital_unit(field)
                label = vital_name(field) + (f" ({unit})" if unit else "")
                if field == "avpu":
                    label += " A/C/V/P/U"
                if field == "mobility":
                    label = vital_name(field)
                value = measured.get(field)
                text = "" if value is None else (value if isinstance(value, str) else f"{value:g}")
                with Horizontal(classes="form-row"):
                    yield Label(show(label))
                    yield Input(text, id=field, compact=True)
                    yield Static("", id=f"{field}-check")
        yield Static("", id="message", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#rr", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        field = event.input.id or ""
        check = self.session.check_vital(field, event.value)
        note = self.query_one(f"#{field}-check", Static)
        event.input.set_class(not check.accepted, "invalid")
        if check.error:
            note.update(show(check.error))
            note.set_classes("error")
        elif check.warning:
            note.update(show(_("Check: {warning}").format(warning=check.warning)))
            note.set_classes("warning")
        else:
            note.update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == FIELDS[-1]:
            self.action_next()
        else:
            self.focus_next()

    def action_next(self) -> None:
        from edgemed.tui.screens.questions import QuestionsScreen

        typed = {field: self.query_one(f"#{field}", Input).value for field in FIELDS}
        try:
            self.session.set_vitals(self.encounter, typed)
        except VitalsError as error:
            self.query_one("#message", Static).update(
                show(_("Correct the values marked in red: {details}").format(details=error.message))
            )
            first = error.checks[0].field
            self.query_one(f"#{first}", Input).focus()
            return
        except EdgemedError as error:
            self.report(error)
            return
        self.app.switch_screen(QuestionsScreen(self.encounter))
