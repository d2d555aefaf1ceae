"""Step 4: vital signs, checked as they are typed: impossible values refused in place,
implausible ones questioned ("re-measure"), nothing measured left empty (never "normal").
AVPU and mobility are picked from a list in the nurse's language, never typed as keywords."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Input, Label, Select, Static

from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.service import Encounter, VitalsError
from edgemed.tui.screens.base import EncounterScreen
from edgemed.tui.screens.messages import StepDone
from edgemed.tui.text import say, show
from edgemed.tui.widgets.entry import Entry


class VitalsScreen(EncounterScreen):
    """One line per vital sign; Enter moves on, Ctrl+N when done."""

    def __init__(self, encounter: Encounter) -> None:
        super().__init__(encounter)
        self.fields = self.session.vital_fields()
        # The closed sets (AVPU, mobility): picked from a list in the nurse's words.
        choices = {f: self.session.vital_choices(f) for f in self.fields}
        self.choices = {f: c for f, c in choices.items() if c}

    def compose(self) -> ComposeResult:
        measured = self.encounter.vitals.to_dict()
        typed = self.encounter.typed
        yield self.who()
        yield Static(show(_("Vital signs (leave empty what was not measured)")), classes="title")
        with VerticalScroll(id="vitals-form"):
            for field in self.fields:
                label = self.session.vital_label(field)
                value = measured.get(field)
                text = "" if value is None else (value if isinstance(value, str) else f"{value:g}")
                text = typed.get(field, text)
                with Horizontal(classes="form-row"):
                    yield Label(show(label))
                    if field in self.choices:
                        yield Select(
                            [(show(text), key) for text, key in self.choices[field]],
                            value=text if text else Select.NULL,
                            prompt=say(_("not measured")),
                            id=field,
                            compact=True,
                        )
                    else:
                        yield Entry(text, id=field, compact=True)
                    yield Static("", id=f"{field}-check")
        yield Static("", id="message", classes="error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#rr", Input).focus()

    def value_of(self, field: str) -> str:
        if field in self.choices:
            value = self.query_one(f"#{field}", Select).value
            return value if isinstance(value, str) else ""
        return self.query_one(f"#{field}", Input).value

    def typed_values(self) -> dict[str, str]:
        measured = {
            k: (v if isinstance(v, str) else f"{v:g}")
            for k, v in self.encounter.vitals.to_dict().items()
            if v is not None
        }
        typed = {field: self.value_of(field) for field in self.fields}
        return {k: v for k, v in typed.items() if v.strip() and v != measured.get(k)}

    def on_input_changed(self, event: Input.Changed) -> None:
        # (The base class keeps what is typed in the draft as well.)
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
        if event.input.id == self.fields[-1]:
            self.action_next()
        else:
            self.focus_next()

    def action_next(self) -> None:
        typed = {field: self.value_of(field) for field in self.fields}
        try:
            self.session.set_vitals(self.encounter, typed)
        except VitalsError as error:
            self.query_one("#message", Static).update(
                show(_("Correct the values marked in red: {details}").format(details=error.message))
            )
            first = error.checks[0].field
            self.query_one(f"#{first}").focus()
            return
        except EdgemedError as error:
            self.report(error)
            return
        self.post_message(StepDone(self.encounter))
