"""Who writes the handover note: the clinic's chosen local model, or a fixed template.

The model only words the note; the category, reasons and target time are the protocol's and are
shown and saved apart from it. A model's note starts with the protocol's facts written by the
template, word for word, and the model's summary follows under its own heading: no wording a
model produces can change, drop or soften a fact.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from edgemed.errors import EdgemedError
from edgemed.i18n import _

from .grounding import Grounding
from .views import ModelChoice
from .wording import handover_messages, model_heading

# Checks a model's text against the encounter (edgemed.service.grounding).
Check = Callable[[str], Grounding]

if TYPE_CHECKING:
    from edgemed.inference import Engine

# A handover note is short; this also bounds the time a slow Raspberry Pi spends on it.
NOTE_MAX_TOKENS = 160


class NoteWriter(ABC):
    """Writes a handover note from the facts, in pieces, and can be stopped."""

    model_id: str | None = None
    # Why the model's text was not used for the last note (None when it was, or no model).
    problem: str | None = None

    @abstractmethod
    def write(self, facts: str, for_model: str, check: Check | None = None) -> Iterator[str]:
        """The note in pieces: ``facts`` is the template's text, ``for_model`` what a model is
        given to word (the facts without the list of absent signs); ``check`` judges a model's
        text against the encounter before any of it is shown."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the note being written; the pieces already given stay."""

    @abstractmethod
    def close(self) -> None:
        """Free the model's memory."""


class TemplateNote(NoteWriter):
    """Rules-only mode: the note is the facts themselves, laid out for a handover."""

    def write(self, facts: str, for_model: str, check: Check | None = None) -> Iterator[str]:
        yield from facts.splitlines(keepends=True)

    def stop(self) -> None:
        """A template is written at once: there is nothing to stop."""

    def close(self) -> None:
        """A template holds no memory worth freeing."""


class ModelNote(NoteWriter):
    """A local model rewords the facts; Stop cancels it within the engine's 200 ms contract."""

    def __init__(self, engine: Engine, model_id: str) -> None:
        self._engine = engine
        self.model_id = model_id
        self._cancel = threading.Event()

    def write(self, facts: str, for_model: str, check: Check | None = None) -> Iterator[str]:
        """The facts at once; the model's wording only after it passed ``check`` (it is held
        back while it is written, so a nurse never reads an invented number or medicine)."""
        self._cancel = threading.Event()
        self.problem = None
        from edgemed.inference import ChatMessage

        yield facts
        messages = [ChatMessage(role, content) for role, content in handover_messages(for_model)]
        pieces = list(
            self._engine.stream_chat(
                messages, max_tokens=NOTE_MAX_TOKENS, temperature=0.2, cancel=self._cancel
            )
        )
        text = "".join(pieces).strip()
        if not text or self._cancel.is_set():
            return
        verdict = check(text) if check is not None else Grounding(True)
        if not verdict.ok:
            self.problem = _("The model's wording was left out: {why}.").format(
                why=verdict.reason()
            )
            return
        yield "\n\n" + model_heading() + "\n" + text + "\n"

    def stop(self) -> None:
        self._cancel.set()
        self._engine.cancel()

    def close(self) -> None:
        self._engine.close()


def model_choices() -> list[ModelChoice]:
    """Every model installed on this machine (the catalog's default first), then rules-only."""
    from edgemed.catalog import installed_models, load_catalog
    from edgemed.catalog.entries import READER_FAMILIES

    try:
        default_id = load_catalog().default_id
    except EdgemedError:
        default_id = ""
    installed = sorted(
        (m for m in installed_models() if m.artifact.family not in READER_FAMILIES),
        key=lambda m: (m.artifact.id != default_id, m.artifact.id),
    )
    choices = [
        ModelChoice(
            m.artifact.id,
            m.artifact.id,
            True,
            _("{size} MB, languages: {languages}").format(
                size=m.artifact.size // 1_000_000,
                languages=", ".join(m.artifact.languages) or "?",
            ),
        )
        for m in installed
    ]
    choices.append(ModelChoice(None, _("Rules only (no language model)"), True))
    return choices


def open_note_writer(model_id: str | None, language: str | None = None) -> NoteWriter:
    """The writer for the chosen model; rules-only when none is chosen. A model whose catalog
    entry does not list the interface ``language`` never writes the note (EdgemedError: the
    template writes it and the nurse is told why)."""
    if model_id is None:
        return TemplateNote()
    if language is not None:
        languages = _model_languages(model_id)
        if languages and language not in languages:
            raise EdgemedError(
                _(
                    "The model {id} does not write {language} (it knows: {known}); the note is "
                    "the template's."
                ).format(id=model_id, language=language, known=", ".join(languages))
            )
    from edgemed.inference import open_engine

    return ModelNote(open_engine(model_id), model_id)


def _model_languages(model_id: str) -> tuple[str, ...]:
    """The languages the catalog (or the installed manifest) says the model writes."""
    from edgemed.catalog import installed_models, load_catalog

    try:
        for entry in load_catalog().entries:
            if entry.id == model_id:
                return tuple(entry.artifact.languages)
    except EdgemedError:
        pass
    for installed in installed_models():
        if installed.artifact.id == model_id:
            return tuple(installed.artifact.languages)
    return ()
