"""The trained sign model at run time: onnxruntime and numpy, no torch.

One ONNX file holds the fine-tuned e5 encoder with its label-wise attention head, and in its
metadata the tokenizer (``edgemed.unigram``: edgemed.inference.unigram) and the head's facts
(``edgemed.sign_head``: the sign list, the four classes, the input prefix and the thresholds chosen
on the training corpus's validation split). ``read`` gives, for every sign, the probability of
each class and the words the sign's attention rested on.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.inference.unigram import Token, UnigramTokenizer

CLASSES = ("none", "present", "absent", "hedged")


@dataclass(frozen=True)
class SignReading:
    """One sign's verdict on one text: class probabilities and the evidence span."""

    sign: str
    probabilities: dict[str, float]
    span: tuple[int, int]

    @property
    def verdict(self) -> str:
        return max(self.probabilities, key=lambda c: self.probabilities[c])


class SignModel:
    """Open once, read many texts; thread-safe (one onnxruntime session, a lock around runs)."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        if not path.is_file():
            raise EdgemedError(_("The sign model {path} is not there.").format(path=path))
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own bare exception types
            raise EdgemedError(
                _("The sign model {path} cannot be opened: {error}").format(path=path, error=error)
            ) from error
        metadata = self.session.get_modelmeta().custom_metadata_map
        if "edgemed.unigram" not in metadata or "edgemed.sign_head" not in metadata:
            raise EdgemedError(
                _("{path} is not an edgemed sign model (no tokenizer in its metadata).").format(
                    path=path
                )
            )
        self.tokenizer = UnigramTokenizer.from_json(json.loads(metadata["edgemed.unigram"]))
        meta = json.loads(metadata["edgemed.sign_head"])
        self.signs: list[str] = list(meta["signs"])
        self.prefix: str = meta.get("prefix", "query: ")
        self.max_tokens: int = int(meta.get("max_tokens", 96))
        self.thresholds: dict[str, float] = dict(meta.get("thresholds", {}))
        self.path = path
        self._lock = threading.Lock()

    def present(self, readings: list[SignReading]) -> list[SignReading]:
        """The readings that count as "present": at or above the sign's threshold."""
        default = self.thresholds.get("*", 0.5)
        return [
            r
            for r in readings
            if r.probabilities["present"] >= self.thresholds.get(r.sign, default)
            and r.probabilities["present"] >= r.probabilities["absent"]
        ]

    def read(self, text: str) -> list[SignReading]:
        """Every sign's class probabilities for ``text``, with its evidence span."""
        tokens = self.tokenizer.tokenize(self.prefix + text)[: self.max_tokens - 2]
        ids = [self.tokenizer.bos, *(t.id for t in tokens), self.tokenizer.eos]
        feed = {
            "input_ids": np.asarray([ids], dtype=np.int64),
            "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
        }
        with self._lock:
            logits, attention = self.session.run(["logits", "attention"], feed)
        shifted = logits[0] - logits[0].max(axis=-1, keepdims=True)
        probabilities = np.exp(shifted)
        probabilities /= probabilities.sum(axis=-1, keepdims=True)
        offset = len(self.prefix)
        readings = []
        for s, sign in enumerate(self.signs):
            span = _evidence(attention[0, 1:-1, s], tokens, offset, text)
            readings.append(
                SignReading(
                    sign,
                    {c: float(probabilities[s, i]) for i, c in enumerate(CLASSES)},
                    span,
                )
            )
        return readings


def _evidence(weights: np.ndarray, tokens: list[Token], offset: int, text: str) -> tuple[int, int]:
    """The words the sign's attention rested on most, as a span of the original text."""
    if not tokens:
        return (0, 0)
    order = np.argsort(-weights)
    # The strongest token and its neighbours that hold at least half its weight.
    top = int(order[0])
    keep = {top}
    for i in (top - 1, top + 1, top - 2, top + 2):
        if 0 <= i < len(tokens) and weights[i] >= 0.5 * weights[top]:
            keep.add(i)
    start = max(0, min(tokens[i].start for i in keep) - offset)
    end = max(0, max(tokens[i].end for i in keep) - offset)
    # Grow to whole words.
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return (min(start, len(text)), min(end, len(text)))
