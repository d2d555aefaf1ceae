"""Chat templates from model files run in Jinja's immutable sandbox; anything else is refused."""

from __future__ import annotations

import pytest

from edgemed.catalog import InstalledModel, read_gguf_header
from edgemed.inference import ChatMessage
from edgemed.inference.templates import BUILTIN, ChatTemplate, TemplateRefused, template_for

CHAT = [ChatMessage("system", "You help nurses."), ChatMessage("user", "Fever 39 C.")]


def test_builtin_chatml() -> None:
    text = ChatTemplate(BUILTIN["chatml"]).render(CHAT)
    assert text == (
        "<|im_start|>system\nYou help nurses.<|im_end|>\n"
        "<|im_start|>user\nFever 39 C.<|im_end|>\n<|im_start|>assistant\n"
    )


def test_the_model_files_own_template(default_model: InstalledModel) -> None:
    source = read_gguf_header(default_model.entry_point).chat_template
    template = template_for(source, "chatml", "smollm2")
    assert template is not None
    rendered = template.render([ChatMessage("user", "Hello")])
    # SmolLM2's template adds its own system prompt when the conversation has none.
    assert rendered.startswith("<|im_start|>system\n")
    assert rendered.endswith("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n")


def test_family_fallback_and_unknown() -> None:
    chat = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hello")]
    chatml = (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    # A file without a template: the family's (qwen2 speaks ChatML), else the catalog's name.
    by_family = template_for("", "", "qwen2")
    assert by_family is not None and by_family.render(chat) == chatml
    by_name = template_for("", "chatml", "mystery")
    assert by_name is not None and by_name.render(chat) == chatml
    assert template_for("", "", "mystery") is None


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.__class__.__init__.__globals__ }}",
        "{% set _ = messages.append({'role': 'user', 'content': 'x'}) %}",
        "{{ cycler.__init__.__globals__.os.system('id') }}",
        "{% for i in range(10**9) %}{% endfor %}",
        "{{ raise_exception('roles must alternate') }}",
        "{% for m in messages %}{{ m.content.format.__globals__ }}{% endfor %}",
    ],
)
def test_unsafe_or_failing_templates_are_refused(source: str) -> None:
    with pytest.raises(TemplateRefused):
        ChatTemplate(source).render(CHAT)


def test_a_template_that_does_not_parse_is_refused() -> None:
    with pytest.raises(TemplateRefused, match="cannot be read"):
        ChatTemplate("{% for m in messages %}")


# Issue 13, row 10: a template gets a time and size budget, and can be cancelled.
@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "range",
        ),
        ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}", "2 s"),
        (
            "{% set s = 'A' * 99999 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
            "2 s",
        ),
        ("{{ 'A' * 3000000000 }}", "repetition"),
        ("{{ 'A' * (3e9 | int) }}", "repetition"),
        ("{{ 'A' * 3e9 }}", "multiply"),
        ("{{ 'a' | center(3000000000) }}", "width"),
        ("{{ 'a'.ljust(3000000000) }}", "width"),
        ("{{ '%0999999999d' % 1 }}", "format width"),
        ("{{ '{:>999999999}'.format(1) }}", "format width"),
        ("{{ ('A' * 1000) | replace('A', 'B' * 100000) }}", "replace"),
        ("{% set s = 'A' * 400000 %}{{ s ~ s ~ s }}", "the text"),
        ("{% for i in range(10000) %}{{ 'A' * 1000 }}{% endfor %}", "the prompt"),
        (
            "{% macro m() %}{% for i in range(10000) %}{{ 'A' * 100000 }}{% endfor %}{% endmacro %}"
            "{{ m() | length }}",
            "add up",
        ),
        ("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}", "recursion"),
    ],
)
def test_a_template_over_its_budget_is_stopped_with_a_clear_error(source: str, reason: str) -> None:
    import time

    started = time.monotonic()
    with pytest.raises(TemplateRefused, match="chat template failed") as caught:
        ChatTemplate(source).render(CHAT)
    assert reason in caught.value.message
    assert time.monotonic() - started < 4


def test_a_template_render_can_be_cancelled() -> None:
    import threading
    import time

    endless = "{% set s = 'A' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(TemplateRefused, match="cancelled"):
        ChatTemplate(endless).render(CHAT, cancel=cancel)
    assert time.monotonic() - started < 0.5


def test_the_budget_leaves_real_templates_alone(default_model: InstalledModel) -> None:
    source = read_gguf_header(default_model.entry_point).chat_template
    long_chat = [ChatMessage("user", "Fever and cough. " * 2000)] * 4
    assert len(ChatTemplate(source).render(long_chat)) > 4 * 2000 * 17
