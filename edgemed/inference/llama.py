"""The llama.cpp engine (GGUF files), on llama-cpp-python's low-level API (llama.h).

The generation loop is llama.cpp's own, driven from Python: one ``llama_decode`` per prompt batch
(``n_batch`` = ``n_ubatch`` = the settings' batch), greedy decoding as the argmax of the last
logits read in place (never copied), llama.cpp's sampler chain otherwise
(``llama_sampler_sample``: top-k/top-p/min-p/temperature, after the GBNF grammar of a ``json``
request), each token's text from ``llama_token_to_piece`` into a reused buffer. The context is
made with llama.cpp's default parameters but flash attention off (f16 KV cache; see load()), and
``bench/bench_llama.py`` runs ``llama-bench`` with the same settings. The high-level
``llama_cpp.Llama`` class (a numpy copy of the logits and Python-side work for every token) is
not used. The KV cache is ours to track: ``_kv`` is the tokens it holds, and a request reuses the
longest common prefix.

Stop within 200 ms, even while a long prompt is being read: llama.cpp checks an abort callback
between the nodes of every compute graph. The callback must not take Python's GIL (it runs
hundreds of times per token on a compute thread, and would wait for a busy UI thread), so it is
C's own ``strlen`` pointed at a two-byte flag: "" means go on, "x" means stop (strlen returns 1,
read by llama.cpp as ``true``). Setting the flag is one byte store from any thread.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# How llama.cpp's OpenMP threads wait. With OpenMP, ggml's barrier between the nodes of a graph is
# an `omp barrier`: hundreds a token. libgomp's default spins up to 300,000 times at each: on a
# 2-core laptop that also runs the nurse's app, spinning threads steal the core the other thread
# needs (decode fell from 27 to 7 tokens/s under load). Pure sleeping (PASSIVE) costs a wake-up at
# every barrier instead: decode 37-48 tokens/s against 135-149 on the same quiet machine. So: sleep
# after a short spin (300 turns, about a microsecond): 3-4x the decode speed of PASSIVE when the
# machine is quiet, 20-35% below it when two busy processes share the 2 cores (docs/benchmarks.md).
# Must be set before libgomp loads, i.e. before llama_cpp is imported; a deployer's own setting
# of either variable wins.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["GOMP_SPINCOUNT"] = "300"

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
    LlamaCppUnavailable,
    ModelInfo,
    log_softmax_at,
    prompt_too_long,
)

# llama-cpp-python loads llama.cpp's shared library when imported. A build that cannot load here
# (CUDA without the NVIDIA driver: libcuda.so.1 missing; a library for another CPU; a damaged
# file) raises RuntimeError or FileNotFoundError from inside the import: turned into the one
# error the app and the CLI word for the user, never a traceback.
try:
    import llama_cpp
except ImportError as error:
    raise LlamaCppUnavailable(str(error), installed=False) from error
except (OSError, RuntimeError) as error:
    raise LlamaCppUnavailable(str(error), installed=True) from error
from edgemed.inference.templates import ChatTemplate, TemplateRefused, template_for

_log = logging.getLogger("edgemed.inference.llama")


@llama_cpp.llama_log_callback
def _forward_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
    # llama.cpp would print to stderr, which corrupts the nurse's full-screen terminal app.
    _log.debug(text.decode("utf-8", errors="replace").rstrip())


llama_cpp.llama_log_set(_forward_log, ctypes.c_void_p(0))
llama_cpp.llama_backend_init()


def _c_flag_callback() -> Any:
    libc = ctypes.CDLL(None)
    address = ctypes.cast(libc.strlen, ctypes.c_void_p).value
    assert address is not None
    return llama_cpp.ggml_abort_callback(address)


_ABORT_CALLBACK = _c_flag_callback()

# llama.cpp's flash attention setting for every context (see load()): off unless the deployer sets
# EDGEMED_FLASH_ATTN=on|off|auto (a device whose flash kernel is faster; measuring the two).
_FLASH_CHOICES = {
    "auto": llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO,
    "on": llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED,
    "off": llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED,
}
_flash_setting = os.environ.get("EDGEMED_FLASH_ATTN", "off").strip().lower()
if _flash_setting not in _FLASH_CHOICES:
    _log.warning("EDGEMED_FLASH_ATTN=%s is not one of on, off, auto: off is used.", _flash_setting)
FLASH_ATTENTION = _FLASH_CHOICES.get(_flash_setting, llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED)


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
        perf: bool = False,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        # llama.cpp's own timing of its decode calls (llama_perf_context), for the bench.
        self._perf = perf
        self.settings = settings
        self.model_id = model_id or self.path.stem
        self.family = family
        self._template_name = template_name
        self._model: Any = None
        self._ctx: Any = None
        self._vocab: Any = None
        self._memory: Any = None
        self._n_ctx = 0
        self._n_vocab = 0
        self._template: ChatTemplate | None = None
        self._flag = ctypes.create_string_buffer(2)
        # The tokens the KV cache holds, in order (sequence 0); the logits of the last decode
        # belong to the end of it.
        self._kv: list[int] = []
        self._one = (llama_cpp.llama_token * 1)()
        self._piece = ctypes.create_string_buffer(256)
        self._logits_view: Any = None
        self._logits_at: int | None = None

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
        if self._ctx is not None:
            return
        model_params = llama_cpp.llama_model_default_params()
        model_params.n_gpu_layers = self.settings.gpu_layers
        model = llama_cpp.llama_model_load_from_file(str(self.path).encode("utf-8"), model_params)
        if not model:
            raise ModelFileError(
                _("llama.cpp could not load {path}: {error}").format(
                    path=self.path, error=_("not a model llama.cpp can read")
                ),
                hint=_("Check it with `edgemed models verify`; see `edgemed doctor` for memory."),
            )
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = self.settings.context
        params.n_batch = params.n_ubatch = self.settings.batch
        params.n_threads = params.n_threads_batch = self.settings.threads
        params.no_perf = not self._perf
        # Flash attention off (llama.cpp's default "auto" turns it on for the CPU). On this 2-core
        # CPU it reads a 300-token prompt ~5-10% faster and decodes ~10% faster from an empty
        # cache, but decodes after that prompt, which is what the app does, 20-35% slower (108
        # against 131-139 tokens/s; docs/benchmarks.md, 2026-12-01); and it moves the logits by
        # a mean KLD of 0.0045 (its CPU kernel sums V in f16). The KV cache stays f16.
        params.flash_attn_type = FLASH_ATTENTION
        ctx = llama_cpp.llama_init_from_model(model, params)
        if not ctx:
            llama_cpp.llama_model_free(model)
            raise ModelFileError(
                _("llama.cpp could not load {path}: {error}").format(
                    path=self.path,
                    error=_("no memory for a context of {n} tokens").format(
                        n=self.settings.context
                    ),
                ),
                hint=_("Check it with `edgemed models verify`; see `edgemed doctor` for memory."),
            )
        llama_cpp.llama_set_abort_callback(
            ctx, _ABORT_CALLBACK, ctypes.cast(self._flag, ctypes.c_void_p)
        )
        self._model, self._ctx = model, ctx
        self._vocab = llama_cpp.llama_model_get_vocab(model)
        self._memory = llama_cpp.llama_get_memory(ctx)
        self._n_ctx = int(llama_cpp.llama_n_ctx(ctx))
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._kv = []
        bos = llama_cpp.llama_vocab_bos(self._vocab)
        eos = llama_cpp.llama_vocab_eos(self._vocab)
        self._template = template_for(
            self._metadata("tokenizer.chat_template"),
            self._template_name,
            self.family,
            self._token_text(bos),
            self._token_text(eos),
        )

    def _metadata(self, key: str) -> str:
        size = 65536
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_model_meta_val_str(self._model, key.encode(), buffer, size)
            if n < 0:
                return ""
            if n < size:
                return buffer.raw[:n].decode("utf-8", errors="replace")
            size = n + 1

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        text = llama_cpp.llama_vocab_get_text(self._vocab, token)
        return (text or b"").decode("utf-8", errors="replace")

    def close(self) -> None:
        self._free()

    def _free(self) -> None:
        self._logits_view, self._logits_at = None, None
        if self._ctx is not None:
            llama_cpp.llama_free(self._ctx)
            self._ctx = None
        if self._model is not None:
            llama_cpp.llama_model_free(self._model)
            self._model = None
        self._kv = []

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit llama_cpp may be gone
            self._free()

    # -- cancel -------------------------------------------------------------------------------
    def cancel(self) -> None:
        super().cancel()
        self._flag[0] = b"x"

    def _begin(self) -> None:
        self.load()
        self._cancelled.clear()
        self._flag[0] = b"\0"

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

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        """Token ids of ``text`` (no BOS); ``special``: read ``<|im_start|>`` etc. as tokens."""
        self.load()
        raw = text.encode("utf-8")
        size = len(raw) + 8
        while True:
            buffer = (llama_cpp.llama_token * size)()
            n = llama_cpp.llama_tokenize(self._vocab, raw, len(raw), buffer, size, False, special)
            if n >= 0:
                return list(buffer[:n])
            size = -n

    def _tokens(self, text: str, room: int) -> list[int]:
        tokens = self.tokenize(text, special=True)
        if len(tokens) + room > self._n_ctx:
            raise prompt_too_long(len(tokens), self._n_ctx - room)
        return tokens

    def _text_of(self, token: int) -> bytes:
        size = len(self._piece)
        n = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece, size, 0, False)
        if n < 0:
            self._piece = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece, -n, 0, False)
        return self._piece.raw[: max(n, 0)]

    # -- the KV cache -------------------------------------------------------------------------
    def _truncate(self, n: int) -> None:
        """Keep the first ``n`` tokens of the KV cache."""
        llama_cpp.llama_memory_seq_rm(self._memory, -1, n, -1)
        del self._kv[n:]

    def _decode(self, array: Any, tokens: Sequence[int]) -> bool:
        """One llama_decode of ``tokens`` after the cache; False when the abort flag stopped it."""
        result = llama_cpp.llama_decode(
            self._ctx, llama_cpp.llama_batch_get_one(array, len(tokens))
        )
        if result == 0:
            self._kv.extend(tokens)
            return True
        # An aborted or failed decode may leave some of its ubatches behind: drop them.
        self._truncate(len(self._kv))
        if self._flag[0] == b"x":
            return False
        raise EngineError(_("llama.cpp failed: {error}").format(error=f"llama_decode {result}"))

    def _decode_one(self, token: int) -> bool:
        self._one[0] = token
        return self._decode(self._one, (token,))

    def _sync(self, tokens: list[int]) -> bool:
        """Make the cache exactly ``tokens``, reusing its common prefix; last logits valid."""
        common = 0
        for a, b in zip(self._kv, tokens, strict=False):
            if a != b:
                break
            common += 1
        # At least one token is evaluated so the logits belong to the end of this prompt.
        common = min(common, len(tokens) - 1)
        self._truncate(common)
        batch = max(1, self.settings.batch)
        for start in range(common, len(tokens), batch):
            chunk = tokens[start : start + batch]
            if not self._decode((llama_cpp.llama_token * len(chunk))(*chunk), chunk):
                return False
        return True

    def _next(self, sampler: Any) -> int:
        """The next token: the sampler chain's choice, or the argmax (first of equals, like
        llama.cpp's greedy sampler) of the last logits. Not llama.cpp's backend sampler (a
        greedy chain attached with ``llama_set_sampler``, the argmax an op of the graph): it
        made decode ~2% slower here than this argmax of the logits read in place
        (docs/benchmarks.md, 2026-12-01)."""
        if sampler is None:
            return int(self._logits().argmax())
        return int(llama_cpp.llama_sampler_sample(sampler, self._ctx, -1))

    def _logits(self) -> Any:
        """The last decoded token's logits: a view of llama.cpp's buffer (never copied), valid
        until the next decode. The view is made again only when the buffer moved."""
        pointer = llama_cpp.llama_get_logits_ith(self._ctx, -1)
        address = ctypes.cast(pointer, ctypes.c_void_p).value
        if address != self._logits_at or self._logits_view is None:
            self._logits_view = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
            self._logits_at = address
        return self._logits_view

    def _sampler(self, temperature: float, grammar: llama_cpp.LlamaGrammar | None) -> Any:
        """llama.cpp's sampler chain for a request; None for plain greedy decoding, which is the
        argmax of the logits read in place (2 us a token; the chain's greedy sampler first copies
        every logit into a candidates array: 30 us, 0.5% of a decode step here)."""
        if temperature <= 0.0 and grammar is None:
            return None
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = llama_cpp.llama_sampler_chain_add
        if grammar is not None:
            rule = llama_cpp.llama_sampler_init_grammar(
                self._vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
            )
            if not rule:
                llama_cpp.llama_sampler_free(chain)
                raise EngineError(_("llama.cpp refused the grammar made from the JSON schema."))
            add(chain, rule)
        if temperature <= 0.0:
            add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            # llama-cpp-python's defaults, which this engine used before.
            add(chain, llama_cpp.llama_sampler_init_top_k(40))
            add(chain, llama_cpp.llama_sampler_init_top_p(0.95, 1))
            add(chain, llama_cpp.llama_sampler_init_min_p(0.05, 1))
            add(chain, llama_cpp.llama_sampler_init_temp(temperature))
            add(chain, llama_cpp.llama_sampler_init_dist(llama_cpp.LLAMA_DEFAULT_SEED))
        return chain

    # -- requests -----------------------------------------------------------------------------
    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int = 256,
        temperature: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        with self._busy:
            self._begin()
            tokens = self._tokens(self.render(messages), max_tokens)
            yield from self._pieces(tokens, max_tokens, temperature, cancel, None)

    def _pieces(
        self,
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
        sampler = self._sampler(temperature, grammar)
        is_eog = llama_cpp.llama_vocab_is_eog
        vocab = self._vocab
        try:
            if self._aborted(cancel) or not self._sync(tokens):
                return
            while True:
                token = self._next(sampler)
                if self._aborted(cancel) or is_eog(vocab, token):
                    return
                produced += 1
                if produced == 1:
                    first = time.perf_counter() - started
                piece = decoder.decode(self._text_of(token))
                if piece:
                    yield piece
                if produced >= max_tokens or not self._decode_one(token):
                    return
        finally:
            if sampler is not None:
                llama_cpp.llama_sampler_free(sampler)
            self.last_generation = GenerationStats(
                len(tokens), produced, first, time.perf_counter() - started, self._stopped(cancel)
            )

    def score(
        self, prompt: str | Sequence[ChatMessage], candidates: Sequence[str]
    ) -> dict[str, float]:
        with self._busy:
            self._begin()
            text = prompt if isinstance(prompt, str) else self.render(prompt)
            longest = max((len(self.tokenize(c)) for c in candidates), default=0)
            tokens = self._tokens(text, longest + 1)
            if not self._sync(tokens):
                raise GenerationCancelled(_("Stopped."))
            after_prompt = self._logits().copy()
            scores: dict[str, float] = {}
            for candidate in candidates:
                ids = self.tokenize(candidate)
                total, logits = 0.0, after_prompt
                for i, token in enumerate(ids):
                    total += log_softmax_at(logits, token)
                    if i + 1 < len(ids):
                        if not self._decode_one(token):
                            raise GenerationCancelled(_("Stopped."))
                        logits = self._logits()
                # Back to the end of the prompt for the next candidate (KV cache kept).
                self._truncate(len(tokens))
                scores[candidate] = total
            return scores

    # -- measuring (edgemed doctor --bench, bench/) ---------------------------------------------
    def run_tokens(
        self, tokens: list[int], max_tokens: int, *, ignore_end: bool = False
    ) -> GenerationStats:
        """Read ``tokens`` from an empty cache and generate up to ``max_tokens`` greedy tokens
        (all of them with ``ignore_end``): the engine's own path, for measuring its speed."""
        with self._busy:
            self._begin()
            self._truncate(0)
            sampler = self._sampler(0.0, None)
            produced, first = 0, 0.0
            started = time.perf_counter()
            try:
                if self._sync(tokens):
                    while produced < max_tokens:
                        token = self._next(sampler)
                        if not ignore_end and llama_cpp.llama_vocab_is_eog(self._vocab, token):
                            break
                        produced += 1
                        if produced == 1:
                            first = time.perf_counter() - started
                        self._text_of(token)
                        if produced >= max_tokens or not self._decode_one(token):
                            break
            finally:
                if sampler is not None:
                    llama_cpp.llama_sampler_free(sampler)
            stats = GenerationStats(
                len(tokens), produced, first, time.perf_counter() - started, self._stopped(None)
            )
            self.last_generation = stats
            return stats

    def llama_timing(self, reset: bool = True) -> tuple[float, int, float, int]:
        """llama.cpp's own timing since the last reset (engine made with ``perf=True``): prompt
        seconds and tokens, decode seconds and tokens, as measured inside llama_decode."""
        data = llama_cpp.llama_perf_context(self._ctx)
        timing = (data.t_p_eval_ms / 1000, data.n_p_eval, data.t_eval_ms / 1000, data.n_eval)
        if reset:
            llama_cpp.llama_perf_context_reset(self._ctx)
        return timing

    def log_probs(self, tokens: list[int]) -> Any:
        """log P(next token) after each prefix of ``tokens`` (one row per position, float64),
        read in one batch from an empty cache; the quality gate of derived formats."""
        with self._busy:
            self._begin()
            n = len(tokens)
            if not 0 < n <= self.settings.batch:
                raise EngineError(
                    _("Between 1 and {n} tokens can be scored at once.").format(
                        n=self.settings.batch
                    )
                )
            self._truncate(0)
            batch = llama_cpp.llama_batch_init(n, 0, 1)
            try:
                for i, token in enumerate(tokens):
                    batch.token[i] = token
                    batch.pos[i] = i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = 1
                batch.n_tokens = n
                result = llama_cpp.llama_decode(self._ctx, batch)
                if result != 0:
                    self._truncate(0)
                    if self._flag[0] == b"x":
                        raise GenerationCancelled(_("Stopped."))
                    raise EngineError(
                        _("llama.cpp failed: {error}").format(error=f"llama_decode {result}")
                    )
                self._kv = list(tokens)
                pointer = llama_cpp.llama_get_logits(self._ctx)
                rows = np.ctypeslib.as_array(pointer, shape=(n, self._n_vocab)).astype(np.float64)
            finally:
                llama_cpp.llama_batch_free(batch)
            peak = rows.max(axis=1, keepdims=True)
            return rows - peak - np.log(np.exp(rows - peak).sum(axis=1, keepdims=True))

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
            self._begin()
            tokens = self._tokens(self.render(messages), max_tokens)
            text = "".join(self._pieces(tokens, max_tokens, 0.0, None, grammar))
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
