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
    assert template_for("", "", "qwen2") is not None
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
