"""Which llama.cpp pre-tokenizer a BPE tokenizer.json describes, recognised by its structure.

llama.cpp cannot run an arbitrary pre-tokenizer: it has one hand-written splitter per known
name (``tokenizer.ggml.pre``). A converter that guesses the name writes a model that silently
tokenizes differently from the original, so an unknown structure is refused instead.
"""

from __future__ import annotations

import json
from typing import Any

GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Llama 3's regex written with the possessive-free "(?:...)" spelling some exports use.
LLAMA3_REGEX_ALT = (
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _step(kind: str, **options: Any) -> str:
    return kind + json.dumps(options, sort_keys=True)


def _split(regex: str) -> str:
    return _step("Split", regex=regex)


_BYTES = _step("ByteLevel", regex=False)
_BYTES_WITH_GPT2_REGEX = _step("ByteLevel", regex=True)

# signature (the pre-tokenizer steps that change splitting) -> llama.cpp's name for it
KNOWN: dict[tuple[str, ...], str] = {
    (_BYTES_WITH_GPT2_REGEX,): "gpt-2",
    (_split(GPT2_REGEX), _BYTES): "gpt-2",
    (_split(LLAMA3_REGEX), _BYTES): "llama-bpe",
    (_split(LLAMA3_REGEX_ALT), _BYTES): "llama-bpe",
    (_split(QWEN2_REGEX), _BYTES): "qwen2",
    (_step("Digits", individual=True), _BYTES_WITH_GPT2_REGEX): "smollm",
}


def signature(pre_tokenizer: dict[str, Any] | None) -> tuple[str, ...]:
    """The steps of a tokenizer.json pre-tokenizer, reduced to what changes how text splits."""
    if pre_tokenizer is None:
        return ()
    kind = pre_tokenizer.get("type")
    if kind == "Sequence":
        steps: tuple[str, ...] = ()
        for inner in pre_tokenizer.get("pretokenizers", []):
            steps += signature(inner)
        return steps
    if kind == "Split":
        pattern = pre_tokenizer.get("pattern", {})
        regex = pattern.get("Regex", pattern.get("String", ""))
        if pre_tokenizer.get("invert") or pre_tokenizer.get("behavior") != "Isolated":
            return (_step("Split", regex=regex, behavior=pre_tokenizer.get("behavior")),)
        return (_split(regex),)
    if kind == "ByteLevel":
        if pre_tokenizer.get("add_prefix_space"):
            return (_step("ByteLevel", regex=pre_tokenizer.get("use_regex", True), prefix=True),)
        return (_step("ByteLevel", regex=pre_tokenizer.get("use_regex", True)),)
    if kind == "Digits":
        return (_step("Digits", individual=bool(pre_tokenizer.get("individual_digits"))),)
    return (_step(str(kind), **{k: v for k, v in pre_tokenizer.items() if k != "type"}),)


def describe(steps: tuple[str, ...]) -> str:
    """A short human description of an unrecognised pre-tokenizer, for the refusal message."""
    return " + ".join(step.split("{", 1)[0] for step in steps) or "none"


def recognise(pre_tokenizer: dict[str, Any] | None) -> str | None:
    """llama.cpp's name for this pre-tokenizer, or None when it is not one we know."""
    return KNOWN.get(signature(pre_tokenizer))
