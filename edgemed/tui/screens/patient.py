"""Step 1: who the patient is and what brings them, in the nurse's own words."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Select, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.protocol import Patient
from edgemed.service import Encounter, RequiredField
from edgemed.service.flow import parse_age
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.screens.messages import StepDone
from edgemed.tui.text import isolate, show
from edgemed.tui.widgets.entry import Entry


def _answer(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _from_answer(value: object) -> bool | None:
    # "Not known" stays unknown: the protocol never reads an unanswered question as "no".
    return {"yes": True, "no": False}.get(str(value))


class PatientScreen(EncounterScreen):
    """Name (or clinic number), age, sex, pregnancy, injury, and the complaint."""

    TEXT_FIELDS = ("name", "age", "complaint")

    def compose(self) -> ComposeResult:
        enc = self.encounter
        patient = enc.patient
        typed = enc.typed
        age = ""
        if patient.age_months is not None:
            age = f"{patient.age_months}m"
        elif patient.age_years is not None:
            age = f"{patient.age_years:g}"
        self.saved_age = age
        age = typed.get("age", age)
        if enc.correcting_version is not None:
            title = _("Correcting {name}, version {version}").format(
                name=isolate(enc.patient_name or "-"), version=enc.correcting_version
            )
        else:
            title = _("New patient")
        sexes = [(_("unknown"), "unknown"), (_("female"), "female"), (_("male"), "male")]
        answers = [(_("not known"), "unknown"), (_("yes"), "yes"), (_("no"), "no")]
        yield self.who()
        with VerticalScroll(id="form"):
            yield Static(show(title), classes="title")
            with Horizontal(classes="form-row"):
                yield Label(show(_("Name or clinic number")))
                yield Entry(typed.get("name", enc.patient_name), id="name", compact=True)
            with Horizontal(classes="form-row"):
                yield Label(show(_("Age (years, or 8m)")))
                yield Entry(age, id="age", compact=True)
            for field, label, options, value in (
                ("sex", _("Sex"), sexes, patient.sex),
                ("pregnant", _("Pregnant"), answers, _answer(patient.pregnant)),
                ("trauma", _("Injury (trauma)"), answers, _answer(patient.trauma)),
            ):
                with Horizontal(classes="form-row", id=f"{field}-row"):
                    yield Label(show(label))
                    yield Select(
                        [(show(text), key) for text, key in options],
                        value=value,
                        allow_blank=False,
                        id=field,
                        compact=True,
                    )
            yield Static(show(_("What brings the patient today? (free text, any language)")))
            yield Entry(typed.get("complaint", enc.complaint), id="complaint", compact=True)
            yield Static("", id="message", classes="error")
        with Horizontal(classes="buttons"):
            yield Button(show(_("Next")), id="next", variant="primary")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.show_pregnancy()
        self.query_one("#name", Input).focus()

    def pregnancy_applies(self) -> bool:
        """Pregnancy is asked only where it can apply: not for a man or a small child (an age
        not typed yet, or not readable yet, still asks)."""
        sex = str(self.query_one("#sex", Select).value)
        try:
            years, months = parse_age(self.query_one("#age", Input).value)
        except EdgemedError:
            years, months = None, None
        probe = Encounter(patient=Patient(age_years=years, age_months=months, sex=sex))
        return self.session.pregnancy_applies(probe)

    def show_pregnancy(self) -> None:
        self.query_one("#pregnant-row").display = self.pregnancy_applies()

    def on_input_changed(self, event: Input.Changed) -> None:
        # (The base class keeps what is typed in the draft as well.)
        if event.input.id == "age":
            self.show_pregnancy()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "sex":
            self.show_pregnancy()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "complaint":
            self.action_next()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_next()

    def can_go_back(self) -> bool:
        return False  # the first step: nothing before it

    def typed_values(self) -> dict[str, str]:
        typed = {f: self.query_one(f"#{f}", Input).value for f in self.TEXT_FIELDS}
        saved = {
            "name": self.encounter.patient_name,
            "complaint": self.encounter.complaint,
            "age": self.saved_age,
        }
        # Only what differs from what is already saved counts as typed.
        return {k: v for k, v in typed.items() if v.strip() and v.strip() != saved.get(k)}

    def action_next(self) -> None:
        sex = self.query_one("#sex", Select).value
        try:
            self.session.set_patient(
                self.encounter,
                name=self.query_one("#name", Input).value,
                age=self.query_one("#age", Input).value,
                sex=str(sex),
                pregnant=_from_answer(self.query_one("#pregnant", Select).value)
                if self.pregnancy_applies()
                else None,
                trauma=_from_answer(self.query_one("#trauma", Select).value),
                complaint=self.query_one("#complaint", Input).value,
            )
        except RequiredField as error:
            # The name (or an identifier) and the complaint are required: the cursor goes there.
            self.query_one("#message", Static).update(show(error.message))
            self.query_one(f"#{error.field}", Input).focus()
            return
        except EdgemedError as error:
            self.query_one("#message", Static).update(show(error.message))
            return
        self.post_message(StepDone(self.encounter))
