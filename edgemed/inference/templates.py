"""Chat templates, rendered safely.

A model file carries its chat template as Jinja source: code from whoever made the file. It is
rendered in Jinja's immutable sandbox (no attribute tricks, no mutation, no imports), and a
template that tries anything outside it is refused with a clear error, never run. Families we
know also have our own template, used when a file has none.

The sandbox stops unsafe *operations*, not unbounded *work*, so a render also has a budget:

- time: it runs in a worker thread; past :data:`TIME_BUDGET` seconds, or as soon as the request is
  cancelled, the worker is interrupted (an exception raised into it at its next bytecode) and the
  caller gets :class:`TemplateRefused` at once (within 50 ms), whatever the worker is doing;
- size: ``range`` gives at most :data:`MAX_RANGE` items and counts every step against the time
  budget; ``*``, ``+``, ``**`` and ``%``, string methods and filters that grow text (``center``,
  ``replace``, ``join``, ``format``, widths...) and ``~`` are checked *before* they allocate, so
  ``'A' * 3000000000`` is refused instead of asking for 3 GB; every value a call makes and the
  output itself stay under :data:`MAX_SIZE` characters. A ``MemoryError`` that still happens is
  a refusal too, never an uncaught error.

A refused template never stops a handover: the service then writes the template note.
"""

from __future__ import annotations

import ctypes
import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, NoReturn

import jinja2
import jinja2.nodes
import jinja2.runtime
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


TIME_BUDGET = 2.0  # seconds; real chat templates render in milliseconds
MAX_RANGE = 10_000
MAX_SIZE = 512 * 1024  # characters (or items) in any value a template builds, and in the prompt
MAX_INT_BITS = 4096
# All the text a render may create, together: a loop appending large values to a macro's buffer
# holds every one of them until the end.
MAX_TOTAL = 32 * 1024 * 1024
_POLL = 0.05


class _OverBudget(Exception):
    """Raised inside a render that went over its budget (or was cancelled)."""


class _Budget(threading.local):
    deadline: float = float("inf")
    cancel: threading.Event | None = None
    allocated: int = 0

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise _OverBudget("cancelled")
        if time.monotonic() > self.deadline:
            raise _OverBudget(f"took longer than {TIME_BUDGET:g} s")


_BUDGET = _Budget()


def _too_big(what: str) -> _OverBudget:
    return _OverBudget(f"{what} would exceed {MAX_SIZE} characters")


def _size(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def _checked(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INT_BITS:
            raise _OverBudget(f"a number with more than {MAX_INT_BITS} bits")
    elif _size(value) > MAX_SIZE:
        raise _too_big("a value")
    _BUDGET.allocated += _size(value)
    if _BUDGET.allocated > MAX_TOTAL:
        raise _OverBudget(f"the values made add up to more than {MAX_TOTAL} characters")
    return value


def _bounded_range(*args: int) -> Iterator[int]:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _OverBudget(f"range() of {len(numbers)} items (at most {MAX_RANGE})")

    def steps() -> Iterator[int]:
        for number in numbers:
            _BUDGET.check()
            yield number

    return steps()


def _repeat_size(left: Any, right: Any) -> int:
    for sequence, count in ((left, right), (right, left)):
        if _size(sequence) and isinstance(count, int):
            return _size(sequence) * max(count, 0)
    return 0


def _replace_size(text: Any, old: Any, new: Any) -> int:
    if not isinstance(text, str) or not isinstance(old, str) or not isinstance(new, str):
        return 0
    if len(new) <= len(old):
        return len(text)
    return len(text) + (len(text) // max(len(old), 1) + 1) * (len(new) - len(old))


_BIG_WIDTH = re.compile(r"\d{6,}")


def _widths_ok(*args: Any) -> None:
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_SIZE:
            raise _too_big(f"a width or count of {value}")
        if isinstance(value, str) and "%" in value and _BIG_WIDTH.search(value):
            raise _too_big("a format width")


def _join_size(separator: str, items: list[Any]) -> int:
    return len(separator) * len(items) + sum(len(str(i)) for i in items)


def _bounded_concat(pieces: Any) -> str:
    """``~`` and every captured block: the total is known before it is allocated."""
    parts = [str(p) for p in pieces]
    if sum(len(p) for p in parts) > MAX_SIZE:
        raise _too_big("the text")
    _BUDGET.check()
    return _checked("".join(parts))


_PASSED = (jinja2.Environment, jinja2.nodes.EvalContext, jinja2.runtime.Context)


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps Jinja's pass_context / pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _BUDGET.check()
        values = [a for a in args if not isinstance(a, _PASSED)]
        _widths_ok(*values[1:], *kwargs.values())
        growth = _replace_size(str(values[0]), values[1], values[2]) if len(values) >= 3 else 0
        if name == "replace" and growth > MAX_SIZE:
            raise _too_big("replace()")
        if name == "join" and values:
            items = list(values[0]) if not isinstance(values[0], str) else [values[0]]
            separator = str(values[1]) if len(values) > 1 else str(kwargs.get("d", ""))
            if _join_size(separator, items) > MAX_SIZE:
                raise _too_big("join()")
        if name in ("indent", "center", "wordwrap") and values and isinstance(values[0], str):
            width = next((v for v in values[1:] if isinstance(v, int)), 0)
            if len(values[0]) * (1 + width // 8) + width > MAX_SIZE:
                raise _too_big(name)
        return _checked(function(*args, **kwargs))

    return guarded


class _BudgetedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with every call, operator and range counted against a budget."""

    intercepted_binops = frozenset(["*", "+", "**", "%", "//"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _BUDGET.check()
        if operator == "*" and _repeat_size(left, right) > MAX_SIZE:
            raise _too_big("a repetition")
        if operator == "+" and _size(left) + _size(right) > MAX_SIZE:
            raise _too_big("a sum")
        powers = operator == "**" and isinstance(left, int) and isinstance(right, int)
        if powers and (
            right > MAX_INT_BITS or abs(left).bit_length() * max(right, 0) > MAX_INT_BITS
        ):
            raise _OverBudget(f"a number with more than {MAX_INT_BITS} bits")
        if operator == "%" and isinstance(left, str):
            _widths_ok(left)
        return _checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _BUDGET.check()
        # The sandbox hands str.format over wrapped (its safe formatter): look through it.
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            _widths_ok(*args, *kwargs.values())
            if name in ("format", "format_map") and _BIG_WIDTH.search(owner):
                raise _too_big("a format width")
            if name == "replace" and len(args) >= 2 and _replace_size(owner, *args[:2]) > MAX_SIZE:
                raise _too_big("replace()")
            if name == "join" and args:
                if _join_size(owner, list(args[0])) > MAX_SIZE:
                    raise _too_big("join()")
                args = (list(args[0]), *args[1:])
            if name == "expandtabs" and len(owner) * (args[0] if args else 8) > MAX_SIZE:
                raise _too_big("expandtabs()")
        return _checked(super().call(__context, __obj, *args, **kwargs))


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
        environment = _BudgetedSandbox(
            trim_blocks=True, lstrip_blocks=True, autoescape=False, undefined=_RefuseUnsafeAccess
        )
        environment.filters["tojson"] = _tojson
        environment.filters = {
            name: _guard_filter(name, function) for name, function in environment.filters.items()
        }
        environment.concat = _bounded_concat  # type: ignore[method-assign]
        environment.globals["raise_exception"] = _raise_exception
        environment.globals["strftime_now"] = _strftime_now
        environment.globals["range"] = _bounded_range
        try:
            self._template = environment.from_string(source)
        except (jinja2.TemplateError, RecursionError, MemoryError) as error:
            raise TemplateRefused(
                _("The model's chat template cannot be read: {error}").format(error=error)
            ) from None
        # `~` joins through these names of the compiled module: bounded like everything else.
        namespace = self._template.root_render_func.__globals__
        namespace["str_join"] = _bounded_concat
        namespace["markup_join"] = _bounded_concat
        self.source = source
        self.bos_token, self.eos_token = bos_token, eos_token

    def _generate(self, conversation: list[dict[str, str]], add_generation_prompt: bool) -> str:
        pieces: list[str] = []
        total = 0
        for piece in self._template.generate(
            messages=conversation,
            add_generation_prompt=add_generation_prompt,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
        ):
            total += len(piece)
            if total > MAX_SIZE:
                raise _too_big("the prompt")
            _BUDGET.check()
            pieces.append(piece)
        return "".join(pieces)

    def render(
        self,
        messages: Sequence[ChatMessage],
        add_generation_prompt: bool = True,
        cancel: threading.Event | None = None,
    ) -> str:
        """The prompt text; :class:`TemplateRefused` if the template fails, goes over its budget
        (time or size), or ``cancel`` is set while it runs."""
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        outcome: dict[str, Any] = {}

        def work() -> None:
            _BUDGET.deadline = time.monotonic() + TIME_BUDGET
            _BUDGET.cancel = cancel
            _BUDGET.allocated = 0
            try:
                outcome["text"] = self._generate(conversation, add_generation_prompt)
            except _OverBudget as error:
                outcome["budget"] = str(error)
            except MemoryError:
                outcome["budget"] = "ran out of memory"
            except RecursionError:
                outcome["budget"] = "recursion too deep"
            except BaseException as error:
                outcome["error"] = error

        worker = threading.Thread(target=work, name="chat-template", daemon=True)
        started = time.monotonic()
        worker.start()
        while worker.is_alive():
            worker.join(_POLL)
            stop = (cancel is not None and cancel.is_set()) or (
                time.monotonic() - started > TIME_BUDGET + _POLL
            )
            if stop and worker.is_alive():
                # A pure-Python loop with no call in it never looks at the budget: interrupt it.
                _interrupt(worker)
                reason = "cancelled" if cancel is not None and cancel.is_set() else (
                    f"took longer than {TIME_BUDGET:g} s")  # fmt: skip
                raise _budget_refusal(reason)
        if "budget" in outcome:
            raise _budget_refusal(outcome["budget"])
        if "error" in outcome:
            return self._refuse(outcome["error"])
        return str(outcome["text"])

    def _refuse(self, failure: BaseException) -> NoReturn:
        try:
            raise failure
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


def _interrupt(worker: threading.Thread) -> None:
    if worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(_OverBudget)
        )


def _budget_refusal(reason: str) -> TemplateRefused:
    return TemplateRefused(
        _("The model's chat template failed on this conversation: {error}").format(
            error=f"stopped: {reason}"
        ),
        hint=_("Use a model file from a trusted source (`edgemed models list`)."),
    )


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
