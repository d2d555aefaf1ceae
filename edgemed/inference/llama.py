"""The llama.cpp engine (GGUF files), through llama-cpp-python.

Stop within 200 ms, even while a long prompt is being read: llama.cpp checks an abort callback
between the nodes of every compute graph. The callback must not take Python's GIL (it runs
hundreds of times per token on a compute thread, and would wait for a busy UI thread), so it is
C's own ``strlen`` pointed at a two-byte flag: "" means go on, "x" means stop (strlen returns 1,
read by llama.cpp as ``true``). Setting the flag is one byte store from any thread.
"""

from __future__ import annotations

import codecs
import ctypes
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# llama.cpp's OpenMP threads spin while they wait. On a 2-core clinic laptop that also runs the
# nurse's app (or anything else), spinning threads steal the core the other thread needs: decode
# fell from 27 to 7 tokens/s here under load with the default policy. Sleeping waits cost one
# wake-up per graph. Must be set before libgomp loads, i.e. before llama_cpp is imported; a
# deployer's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import llama_cpp
import numpy as np

from edgemed.catalog import ModelFileError
from edgemed.i18n import _
from edgemed.inference.engine import (
    ChatMessage,
    Engine,
    EngineError,
    EngineSettings,
    GenerationCancelled,
    GenerationStats,
    ModelInfo,
    log_softmax_at,
    prompt_too_long,
)
from edgemed.inference.templates import ChatTemplate, TemplateRefused, template_for

_log = logging.getLogger("edgemed.inference.llama")


@llama_cpp.llama_log_callback
def _forward_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
    # llama.cpp would print to stderr, which corrupts the nurse's full-screen terminal app.
    _log.debug(text.decode("utf-8", errors="replace").rstrip())


llama_cpp.llama_log_set(_forward_log, ctypes.c_void_p(0))


def _c_flag_callback() -> Any:
    libc = ctypes.CDLL(None)
    address = ctypes.cast(libc.strlen, ctypes.c_void_p).value
    assert address is not None
    return llama_cpp.ggml_abort_callback(address)


_ABORT_CALLBACK = _c_flag_callback()


def gpu_offload_supported() -> bool:
    """Whether this llama.cpp build can put layers on a GPU (CUDA, Metal, Vulkan...)."""
    return bool(llama_cpp.llama_supports_gpu_offload())


def system_info() -> str:
    """llama.cpp's own line on the CPU features it was built with (AVX2, NEON, ...)."""
    return bytes(llama_cpp.llama_print_system_info()).decode("utf-8", errors="replace").strip()


class LlamaCppEngine(Engine):
    def __init__(
        self,
        path: Path,
        settings: EngineSettings,
        *,
        model_id: str = "",
        family: str = "",
        template_name: str = "",
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.settings = settings
        self.model_id = model_id or self.path.stem
        self.family = family
        self._template_name = template_name
        self._llama: llama_cpp.Llama | None = None
        self._template: ChatTemplate | None = None
        self._flag = ctypes.create_string_buffer(2)
        self._vocab: Any = None

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            self.model_id,
            self.family,
            "gguf",
            self.path,
            self.settings.context,
            self.settings.threads,
            self.settings.gpu_layers,
        )

    def load(self) -> None:
        if self._llama is not None:
            return
        try:
            llama = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=self.settings.context,
                n_batch=self.settings.batch,
                n_ubatch=self.settings.batch,
                n_threads=self.settings.threads,
                n_threads_batch=self.settings.threads,
                n_gpu_layers=self.settings.gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelFileError(
                _("llama.cpp could not load {path}: {error}").format(path=self.path, error=error),
                hint=_("Check it with `edgemed models verify`; see `edgemed doctor` for memory."),
            ) from None
        llama_cpp.llama_set_abort_callback(
            llama.ctx, _ABORT_CALLBACK, ctypes.cast(self._flag, ctypes.c_void_p)
        )
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self._llama = llama
        bos = llama.token_bos()
        eos = llama.token_eos()
        self._template = template_for(
            str(llama.metadata.get("tokenizer.chat_template", "")),
            self._template_name,
            self.family,
            llama._model.token_get_text(bos) if bos >= 0 else "",
            llama._model.token_get_text(eos) if eos >= 0 else "",
        )

    def close(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    # -- cancel -------------------------------------------------------------------------------
    def cancel(self) -> None:
        super().cancel()
        self._flag[0] = b"x"

    def _begin(self) -> llama_cpp.Llama:
        self.load()
        assert self._llama is not None
        self._cancelled.clear()
        self._flag[0] = b"\0"
        return self._llama

    def _aborted(self, cancel: threading.Event | None) -> bool:
        if cancel is not None and cancel.is_set():
            self._flag[0] = b"x"
        return self._stopped(cancel)

    # -- prompts ------------------------------------------------------------------------------
    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        self.load()
        if self._template is None:
            raise TemplateRefused(
                _("{model} has no chat template and edgemed knows none for it.").format(
                    model=self.model_id
                )
            )
        return self._template.render(messages, add_generation_prompt, cancel=self._cancelled)

    def _tokens(self, llama: llama_cpp.Llama, text: str, room: int) -> list[int]:
        tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) + room > llama.n_ctx():
            raise prompt_too_long(len(tokens), llama.n_ctx() - room)
        return tokens

    def _eval(self, llama: llama_cpp.Llama, tokens: Sequence[int]) -> bool:
        """Evaluate tokens after the current state; False when the abort flag stopped it."""
        try:
            llama.eval(tokens)
        except RuntimeError as error:
            if self._flag[0] == b"x":
                return False
            raise EngineError(_("llama.cpp failed: {error}").format(error=error)) from None
        return True

    # -- requests -----------------------------------------------------------------------------
    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int = 256,
        temperature: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        with self._busy:
            llama = self._begin()
            tokens = self._tokens(llama, self.render(messages), max_tokens)
            yield from self._pieces(llama, tokens, max_tokens, temperature, cancel, None)

    def _pieces(
        self,
        llama: llama_cpp.Llama,
        tokens: list[int],
        max_tokens: int,
        temperature: float,
        cancel: threading.Event | None,
        grammar: llama_cpp.LlamaGrammar | None,
    ) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        produced = 0
        started = time.perf_counter()
        first = 0.0
        generator = llama.generate(
            tokens, temp=temperature, repeat_penalty=1.0, grammar=grammar, reset=True
        )
        try:
            for token in generator:
                if self._aborted(cancel) or llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    return
                produced += 1
                if produced == 1:
                    first = time.perf_counter() - started
                piece = decoder.decode(llama.detokenize([token]))
                if piece:
                    yield piece
                if produced >= max_tokens:
                    return
        except RuntimeError as error:
            if self._flag[0] != b"x":
                raise EngineError(_("llama.cpp failed: {error}").format(error=error)) from None
        finally:
            generator.close()
            if self._flag[0] == b"x":
                llama._requires_eval = True  # an aborted decode leaves stale logits behind
            self.last_generation = GenerationStats(
                len(tokens), produced, first, time.perf_counter() - started, self._stopped(cancel)
            )

    def score(
        self, prompt: str | Sequence[ChatMessage], candidates: Sequence[str]
    ) -> dict[str, float]:
        with self._busy:
            llama = self._begin()
            text = prompt if isinstance(prompt, str) else self.render(prompt)
            longest = max(
                (len(llama.tokenize(c.encode("utf-8"), add_bos=False)) for c in candidates),
                default=0,
            )
            tokens = self._tokens(llama, text, longest + 1)
            if not self._prefill(llama, tokens):
                raise GenerationCancelled(_("Stopped."))
            n_vocab = llama.n_vocab()
            after_prompt = np.ctypeslib.as_array(
                llama._ctx.get_logits_ith(-1), shape=(n_vocab,)
            ).copy()
            scores: dict[str, float] = {}
            for candidate in candidates:
                ids = llama.tokenize(candidate.encode("utf-8"), add_bos=False, special=False)
                total, logits = 0.0, after_prompt
                for i, token in enumerate(ids):
                    total += log_softmax_at(logits, token)
                    if i + 1 < len(ids):
                        if not self._eval(llama, [token]):
                            raise GenerationCancelled(_("Stopped."))
                        logits = np.ctypeslib.as_array(
                            llama._ctx.get_logits_ith(-1), shape=(n_vocab,)
                        )
                # Back to the end of the prompt for the next candidate (KV cache kept).
                llama.n_tokens = len(tokens)
                scores[candidate] = total
            # The logits now belong to a candidate, not to the prompt's end: a generation with
            # this exact prompt must evaluate again rather than sample from them.
            llama._requires_eval = True
            return scores

    def _prefill(self, llama: llama_cpp.Llama, tokens: list[int]) -> bool:
        """Make the state exactly ``tokens``, reusing the cached prefix; last logits valid."""
        cached = llama.input_ids[: llama.n_tokens]
        common = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            common += 1
        # At least one token is evaluated so the logits belong to the end of this prompt.
        common = min(common, len(tokens) - 1)
        llama.n_tokens = common
        return self._eval(llama, tokens[common:])

    def json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], max_tokens: int = 512
    ) -> dict[str, Any]:
        try:
            grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        except (ValueError, RuntimeError, KeyError, TypeError, AssertionError) as error:
            raise EngineError(
                _("This JSON schema cannot be turned into a grammar: {error}").format(error=error)
            ) from None
        with self._busy:
            llama = self._begin()
            tokens = self._tokens(llama, self.render(messages), max_tokens)
            text = "".join(self._pieces(llama, tokens, max_tokens, 0.0, None, grammar))
            if self._stopped(None):
                raise GenerationCancelled(_("Stopped."))
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise EngineError(
                _(
                    "The model's answer was cut off before the JSON was complete ({n} tokens)."
                ).format(n=max_tokens)
            ) from None
        if not isinstance(value, dict):
            raise EngineError(_("The model's answer is JSON but not an object."))
        return value
