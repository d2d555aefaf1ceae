"""Chat templates, rendered safely.

A model file carries its chat template as Jinja source: code from whoever made the file. It is
rendered in Jinja's immutable sandbox (no attribute tricks, no mutation, no imports), and a
template that tries anything outside it is refused with a clear error, never run. Families we
know also have our own template, used when a file has none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NoReturn

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.inference.engine import ChatMessage

# Our own templates for known families (used when the model file has none).
BUILTIN: dict[str, str] = {
    "chatml": (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
}
FAMILY_TEMPLATE = {"smollm2": "chatml", "qwen2": "chatml"}


class TemplateRefused(EdgemedError):
    """A chat template that is broken, or tries to do something a template must not."""


class _RefuseUnsafeAccess(jinja2.Undefined):
    """Lenient for missing values (templates test ``tools is defined``), but never for unsafe ones.

    Jinja's sandbox answers an unsafe attribute (``__globals__``, ``__class__``) with an
    Undefined that renders as "" unless used further; a template that even tries is refused.
    """

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = jinja2.utils.missing,
        name: str | None = None,
        exc: type[jinja2.TemplateRuntimeError] = jinja2.UndefinedError,
    ) -> None:
        if issubclass(exc, SecurityError):
            raise SecurityError(hint or f"access to {name!r} is not allowed")
        super().__init__(hint, obj, name, exc)


def _raise_exception(message: str) -> NoReturn:
    # Hugging Face templates call this to reject a conversation (e.g. roles out of order).
    raise jinja2.TemplateError(message)


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


class ChatTemplate:
    """A compiled chat template: ``render(messages)`` gives the prompt text."""

    def __init__(self, source: str, bos_token: str = "", eos_token: str = "") -> None:
        environment = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, autoescape=False, undefined=_RefuseUnsafeAccess
        )
        environment.filters["tojson"] = _tojson
        environment.globals["raise_exception"] = _raise_exception
        environment.globals["strftime_now"] = _strftime_now
        try:
            self._template = environment.from_string(source)
        except jinja2.TemplateError as error:
            raise TemplateRefused(
                _("The model's chat template cannot be read: {error}").format(error=error)
            ) from None
        self.source = source
        self.bos_token, self.eos_token = bos_token, eos_token

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        try:
            return self._template.render(
                messages=conversation,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
            )
        except SecurityError as error:
            raise TemplateRefused(
                _(
                    "The model's chat template was refused: it tried an unsafe operation ({error})."
                ).format(error=error),
                hint=_("Use a model file from a trusted source (`edgemed models list`)."),
            ) from None
        except (jinja2.TemplateError, TypeError, ValueError, OverflowError) as error:
            raise TemplateRefused(
                _("The model's chat template failed on this conversation: {error}").format(
                    error=error
                )
            ) from None


def template_for(
    file_template: str, fallback: str, family: str, bos_token: str = "", eos_token: str = ""
) -> ChatTemplate | None:
    """The file's own template, else a built-in one for the catalog's name or the family."""
    source = (
        file_template
        or BUILTIN.get(fallback, "")
        or BUILTIN.get(FAMILY_TEMPLATE.get(family, ""), "")
    )
    return ChatTemplate(source, bos_token, eos_token) if source else None
