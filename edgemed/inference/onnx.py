"""The onnxruntime engine: a decoder exported by optimum with its KV cache, run without torch.

The folder is optimum's ``text-generation-with-past`` layout: ``model.onnx`` (inputs
``input_ids``, ``attention_mask``, optionally ``position_ids``, ``past_key_values.N.key/value``;
outputs ``logits``, ``present.N.key/value``), ``config.json``, ``tokenizer.json``,
``tokenizer_config.json`` (chat template) and ``generation_config.json`` (end tokens). The
generation loop is ours: onnxruntime + tokenizers + numpy.

Stop: onnxruntime's ``RunOptions.terminate`` ends a run in progress (prompt included) from
another thread; the KV cache is ours, so a stopped request leaves nothing to clean up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

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
from edgemed.inference.schema_fill import fill_schema
from edgemed.inference.templates import ChatTemplate, TemplateRefused, template_for

Past = dict[str, np.ndarray]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _token_text(value: Any) -> str:
    # tokenizer_config.json stores special tokens either as text or as {"content": text}.
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return str(value or "")


class OnnxEngine(Engine):
    def __init__(
        self, folder: Path, settings: EngineSettings, *, model_id: str = "", family: str = ""
    ) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.settings = settings
        self.model_id = model_id or self.folder.name
        self.family = family
        self._session: ort.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._template: ChatTemplate | None = None
        self._run_options = ort.RunOptions()
        self._end_ids: set[int] = set()
        self._past_names: list[str] = []
        self._past_shape: dict[str, tuple[int, int]] = {}
        self._past_dtype: Any = np.float32
        self._inputs: set[str] = set()
        self._context = settings.context
        self._rng = np.random.default_rng(0)

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            self.model_id, self.family, "onnx", self.folder, self._context, self.settings.threads, 0
        )

    def load(self) -> None:
        if self._session is not None:
            return
        model = self.folder / "model.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.settings.threads
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        except Exception as error:  # onnxruntime raises its own untyped exceptions
            raise ModelFileError(
                _("onnxruntime could not load {path}: {error}").format(path=model, error=error)
            ) from None
        config = _read_json(self.folder / "config.json")
        generation = _read_json(self.folder / "generation_config.json")
        tokenizer_config = _read_json(self.folder / "tokenizer_config.json")
        for inp in session.get_inputs():
            self._inputs.add(inp.name)
            if inp.name.startswith("past_key_values."):
                self._past_names.append(inp.name)
                self._past_shape[inp.name] = (int(inp.shape[1]), int(inp.shape[3]))
                self._past_dtype = np.float16 if "float16" in inp.type else np.float32
        ends = generation.get("eos_token_id", config.get("eos_token_id"))
        self._end_ids = set(ends if isinstance(ends, list) else [ends] if ends is not None else [])
        self._context = min(
            self.settings.context, int(config.get("max_position_embeddings", self._context))
        )
        # transformers 4.4x+ writes the template to its own file instead of tokenizer_config.
        template_file = self.folder / "chat_template.jinja"
        template_source = str(tokenizer_config.get("chat_template", "") or "")
        if not template_source and template_file.is_file():
            template_source = template_file.read_text(encoding="utf-8")
        self._template = template_for(
            template_source,
            "",
            self.family or str(config.get("model_type", "")),
            _token_text(tokenizer_config.get("bos_token")),
            _token_text(tokenizer_config.get("eos_token")),
        )
        self._tokenizer = tokenizer
        self._session = session

    # -- the forward pass ---------------------------------------------------------------------
    def _empty_past(self) -> Past:
        return {
            name: np.zeros((1, heads, 0, dim), dtype=self._past_dtype)
            for name, (heads, dim) in self._past_shape.items()
        }

    def forward(self, ids: Sequence[int], past: Past, start: int) -> tuple[np.ndarray, Past]:
        """Logits at each position of ``ids`` (after ``start`` cached tokens), and the new cache."""
        assert self._session is not None
        length = len(ids)
        feed: dict[str, np.ndarray] = {
            "input_ids": np.asarray([ids], dtype=np.int64),
            "attention_mask": np.ones((1, start + length), dtype=np.int64),
            **past,
        }
        if "position_ids" in self._inputs:
            feed["position_ids"] = np.arange(start, start + length, dtype=np.int64)[None, :]
        try:
            outputs = self._session.run(None, feed, self._run_options)
        except Exception as error:  # onnxruntime's exceptions carry no public type
            if self._run_options.terminate:
                raise GenerationCancelled(_("Stopped.")) from None
            raise EngineError(_("onnxruntime failed: {error}").format(error=error)) from None
        names = [o.name for o in self._session.get_outputs()]
        logits = outputs[names.index("logits")][0]
        present = {
            name.replace("present.", "past_key_values."): value
            for name, value in zip(names, outputs, strict=True)
            if name.startswith("present.")
        }
        return logits, present

    # -- requests -----------------------------------------------------------------------------
    def cancel(self) -> None:
        super().cancel()
        self._run_options.terminate = True

    def _begin(self) -> Tokenizer:
        self.load()
        assert self._tokenizer is not None
        self._cancelled.clear()
        self._run_options = ort.RunOptions()
        return self._tokenizer

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        self.load()
        if self._template is None:
            raise TemplateRefused(
                _("{model} has no chat template and edgemed knows none for it.").format(
                    model=self.model_id
                )
            )
        return self._template.render(messages, add_generation_prompt, cancel=self._cancelled)

    def _encode(self, tokenizer: Tokenizer, text: str, room: int) -> list[int]:
        ids = list(tokenizer.encode(text, add_special_tokens=False).ids)
        if len(ids) + room > self._context:
            raise prompt_too_long(len(ids), self._context - room)
        return ids

    def _pick(self, logits: np.ndarray, temperature: float) -> int:
        if temperature <= 0:
            return int(np.argmax(logits))
        scaled = logits.astype(np.float64) / temperature
        probabilities = np.exp(scaled - scaled.max())
        return int(self._rng.choice(len(probabilities), p=probabilities / probabilities.sum()))

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int = 256,
        temperature: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        with self._busy:
            tokenizer = self._begin()
            ids = self._encode(tokenizer, self.render(messages), max_tokens)
            watcher = _EventWatcher(cancel, self) if cancel is not None else None
            try:
                yield from self._generate(tokenizer, ids, max_tokens, temperature, cancel)
            except GenerationCancelled:
                return
            finally:
                if watcher is not None:
                    watcher.stop()

    def _generate(
        self,
        tokenizer: Tokenizer,
        ids: list[int],
        max_tokens: int,
        temperature: float,
        cancel: threading.Event | None,
    ) -> Iterator[str]:
        started = time.perf_counter()
        first = 0.0
        produced: list[int] = []
        try:
            logits, past = self.forward(ids, self._empty_past(), 0)
            shown = ""
            position = len(ids)
            while len(produced) < max_tokens and not self._stopped(cancel):
                token = self._pick(logits[-1], temperature)
                if token in self._end_ids:
                    return
                produced.append(token)
                if len(produced) == 1:
                    first = time.perf_counter() - started
                text = tokenizer.decode(produced, skip_special_tokens=True)
                # A multi-byte character split over tokens shows as U+FFFD until complete.
                if not text.endswith("\ufffd") and len(text) > len(shown):
                    yield text[len(shown) :]
                    shown = text
                logits, past = self.forward([token], past, position)
                position += 1
        finally:
            self.last_generation = GenerationStats(
                len(ids), len(produced), first, time.perf_counter() - started, self._stopped(cancel)
            )

    def score(
        self, prompt: str | Sequence[ChatMessage], candidates: Sequence[str]
    ) -> dict[str, float]:
        with self._busy:
            tokenizer = self._begin()
            text = prompt if isinstance(prompt, str) else self.render(prompt)
            ids = self._encode(tokenizer, text, 0)
            logits, past = self.forward(ids, self._empty_past(), 0)
            last = logits[-1]
            scores: dict[str, float] = {}
            for candidate in candidates:
                extra = list(tokenizer.encode(candidate, add_special_tokens=False).ids)
                total = log_softmax_at(last, extra[0]) if extra else 0.0
                if len(extra) > 1:
                    # The prompt's KV cache is reused: only the candidate's tokens are computed.
                    more, _past = self.forward(extra[:-1], past, len(ids))
                    total += sum(log_softmax_at(more[i], extra[i + 1]) for i in range(len(more)))
                scores[candidate] = total
            return scores

    def json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], max_tokens: int = 512
    ) -> dict[str, Any]:
        prompt = self.render(messages)
        return fill_schema(lambda prefix, options: self.score(prompt + prefix, options), schema)


class _EventWatcher:
    """Turns a caller's threading.Event into an onnxruntime terminate while a run is going."""

    def __init__(self, event: threading.Event, engine: OnnxEngine) -> None:
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(event, engine), daemon=True)
        self._thread.start()

    def _watch(self, event: threading.Event, engine: OnnxEngine) -> None:
        while not self._done.is_set():
            if event.wait(0.02):
                engine._run_options.terminate = True
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
