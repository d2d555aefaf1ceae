"""The one interface every local model sits behind, and the rules-only stand-in.

Whatever runs underneath (llama.cpp, onnxruntime, nothing), the rest of edgemed can:

- ``stream_chat``: stream a reply piece by piece (the handover note);
- ``score``: the log-probability of each candidate continuation (a cheap, reliable yes/no);
- ``json``: a reply that parses as JSON matching a schema;
- ``cancel``: stop the current request within 200 ms, prompt processing included; the engine
  stays usable for the next request.

A model only ever *proposes*: nothing returned here decides a triage category.
"""

from __future__ import annotations

import math
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edgemed.errors import EdgemedError
from edgemed.i18n import _

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class EngineSettings:
    """How to run a model on this machine; comes from the hardware profile (edgemed doctor)."""

    threads: int = max(1, (os.cpu_count() or 2))
    context: int = 4096
    gpu_layers: int = 0
    # Tokens per llama_decode call while reading a prompt. Cancel does not depend on it: the
    # abort flag is checked between graph nodes.
    batch: int = 512


@dataclass(frozen=True)
class ModelInfo:
    model_id: str
    family: str
    format: str
    path: Path | None
    context: int
    threads: int
    gpu_layers: int


@dataclass(frozen=True)
class GenerationStats:
    """How the last generation went (for the bench and the TUI's status line)."""

    prompt_tokens: int
    generated_tokens: int
    # Seconds from the request to the first generated token (prompt reading included).
    first_token_s: float
    total_s: float
    cancelled: bool

    @property
    def decode_tokens_per_s(self) -> float:
        steps = self.generated_tokens - 1
        span = self.total_s - self.first_token_s
        return steps / span if steps > 0 and span > 0 else 0.0


class NoModelError(EdgemedError):
    """Asked a model for something while none is installed (rules-only mode)."""


class GenerationCancelled(EdgemedError):
    """A request that has no partial result (score, json) was stopped by cancel()."""


class EngineError(EdgemedError):
    """The engine could not do what was asked (context too small, runtime failure)."""


class LlamaCppUnavailable(EngineError):
    """llama.cpp cannot run here: llama-cpp-python is not installed (``installed`` False), or it
    is and its shared library does not load (a CUDA build without the NVIDIA driver, a library
    for another CPU, a damaged file). Rules-only triage is unaffected."""

    def __init__(self, detail: str, *, installed: bool) -> None:
        if installed:
            message = _("llama.cpp is installed but its library does not load: {detail}").format(
                detail=detail
            )
            hint = _(
                "A llama.cpp built for CUDA needs the NVIDIA driver (libcuda.so.1). Otherwise "
                "reinstall it for this machine: `make run` on a laptop, the bundle's install.sh "
                "on a device (docs/deploy.md). Triage works without it, rules-only."
            )
        else:
            message = _("llama-cpp-python is not installed, so GGUF models cannot run.")
            hint = _(
                "Install it: `make run` on a laptop, the bundle's install.sh on a device "
                "(docs/deploy.md). Triage works without it, rules-only."
            )
        super().__init__(message, hint)
        self.detail = detail
        self.installed = installed


def prompt_too_long(tokens: int, limit: int) -> EngineError:
    return EngineError(
        _("The text is too long for this model: {tokens} tokens, room for {limit}.").format(
            tokens=tokens, limit=limit
        ),
        hint=_("Shorten the note, or raise the context size in the hardware profile."),
    )


def log_softmax_at(logits: Sequence[float] | Any, token: int) -> float:
    """log P(token) from raw logits (numpy array or list), computed stably."""
    import numpy as np

    row = np.asarray(logits, dtype=np.float64)
    peak = float(row.max())
    return float(row[token] - peak - math.log(float(np.exp(row - peak).sum())))


class Engine(ABC):
    """A loaded local model. Requests are serialised: one runs at a time per engine."""

    available: bool = True

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._busy = threading.Lock()
        self.last_generation: GenerationStats | None = None

    @property
    @abstractmethod
    def info(self) -> ModelInfo: ...

    @abstractmethod
    def load(self) -> None:
        """Load the model into memory (idempotent)."""

    @abstractmethod
    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int = 256,
        temperature: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Yield the reply in pieces; ends early, without error, when cancelled."""

    @abstractmethod
    def score(
        self, prompt: str | Sequence[ChatMessage], candidates: Sequence[str]
    ) -> dict[str, float]:
        """Total log-probability of each candidate continuing ``prompt``.

        A list of messages is rendered with the chat template and a generation prompt, so the
        candidates are scored as the start of the assistant's reply.
        """

    @abstractmethod
    def json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], max_tokens: int = 512
    ) -> dict[str, Any]:
        """A reply constrained to JSON matching ``schema``."""

    def cancel(self) -> None:
        """Stop the request in progress (from any thread) within 200 ms."""
        self._cancelled.set()

    def close(self) -> None:  # noqa: B027 - engines without native memory have nothing to free
        """Free the model's memory; the engine cannot be used afterwards."""

    def complete(self, messages: Sequence[ChatMessage], max_tokens: int = 256) -> str:
        """The whole reply as one string (greedy)."""
        return "".join(self.stream_chat(messages, max_tokens=max_tokens))

    def _stopped(self, cancel: threading.Event | None) -> bool:
        return self._cancelled.is_set() or (cancel is not None and cancel.is_set())


class NoEngine(Engine):
    """Rules-only mode: no model is installed; triage still works, nothing is proposed."""

    available = False

    def __init__(self, reason: str = "") -> None:
        super().__init__()
        self.reason = reason or _("No language model is installed.")

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("none", "none", "none", None, 0, 0, 0)

    def _refuse(self) -> NoModelError:
        return NoModelError(
            _("{reason} edgemed is in rules-only mode.").format(reason=self.reason),
            hint=_("Install one with `edgemed models install default` (see `edgemed doctor`)."),
        )

    def load(self) -> None:
        return None

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int = 256,
        temperature: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        raise self._refuse()

    def score(
        self, prompt: str | Sequence[ChatMessage], candidates: Sequence[str]
    ) -> dict[str, float]:
        raise self._refuse()

    def json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], max_tokens: int = 512
    ) -> dict[str, Any]:
        raise self._refuse()
