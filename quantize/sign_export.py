"""The trained sign model -> ONNX fp32 and int8 -> a quality report -> a manifest.

The export traces the model (encoder + label-wise attention head) with PyTorch's ONNX exporter:
optimum exports Hugging Face architectures by task, and the head is not one of them. int8 is
onnxruntime's dynamic quantization of every MatMul plus the embedding table (Gather), which is
what keeps the shipped folder small. The report scores both variants through the runtime's own
reader (edgemed.inference.sign_model), on a labelled set, per locale and per sign.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quantize.sign_model import CLASSES, HEAD_FILE, load_trained

SIDE_FILES = ("unigram.json", HEAD_FILE)


def _fresh(folder: Path) -> Path:
    part = folder.with_name(folder.name + ".part")
    if part.exists():
        shutil.rmtree(part)
    part.mkdir(parents=True)
    return part


def export_fp32(trained: Path, folder: Path, thresholds: dict[str, float]) -> Path:
    """model.onnx (inputs input_ids, attention_mask; outputs logits, attention) + side files."""
    import torch

    model, tokenizer, _signs = load_trained(trained)
    part = _fresh(folder)
    ids = torch.tensor([tokenizer.encode("query: chest pain since this morning")])
    mask = torch.ones_like(ids)
    torch.onnx.export(
        model,
        (ids, mask),
        str(part / "model.onnx"),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits", "attention"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "logits": {0: "batch"},
            "attention": {0: "batch", 1: "tokens"},
        },
        opset_version=17,
        dynamo=False,
    )
    for name in SIDE_FILES:
        shutil.copy2(trained / name, part / name)
    meta = json.loads((part / HEAD_FILE).read_text(encoding="utf-8"))
    meta["thresholds"] = thresholds
    (part / HEAD_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    embed_side_files(part)
    os.replace(part, folder)
    return folder


def embed_side_files(folder: Path) -> None:
    """Put the tokenizer and the head's metadata into model.onnx itself (metadata_props), so the
    model is one file that the catalog installs and checks like any other."""
    import onnx

    path = folder / "model.onnx"
    model = onnx.load(str(path))
    keep = [p for p in model.metadata_props if not p.key.startswith("edgemed.")]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, name in (("edgemed.unigram", "unigram.json"), ("edgemed.sign_head", HEAD_FILE)):
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = (folder / name).read_text(encoding="utf-8")
    onnx.save(model, str(path))


def quantize_int8(fp32: Path, folder: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    part = _fresh(folder)
    for name in SIDE_FILES:
        shutil.copy2(fp32 / name, part / name)
    quantize_dynamic(
        fp32 / "model.onnx",
        part / "model.onnx",
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"],
    )
    embed_side_files(part)
    os.replace(part, folder)
    return folder


@dataclass
class Scores:
    """Counts for "present" on a labelled set, and what is derived from them."""

    hits: int = 0
    false: int = 0
    missed: int = 0
    negations: int = 0  # labelled absent, read as present
    denied: int = 0  # labelled absent, in all

    @property
    def recall(self) -> float:
        return self.hits / max(1, self.hits + self.missed)

    @property
    def precision(self) -> float:
        return self.hits / max(1, self.hits + self.false)

    @property
    def negation_error(self) -> float:
        return self.negations / max(1, self.denied)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "negation_error": round(self.negation_error, 4),
            "hits": self.hits,
            "false": self.false,
            "missed": self.missed,
            "negations": self.negations,
            "denied": self.denied,
        }


@dataclass
class QualityReport:
    variant: str
    size_bytes: int
    per_locale: dict[str, dict[str, Any]] = field(default_factory=dict)
    urgent: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_sign: dict[str, dict[str, Any]] = field(default_factory=dict)
    latency_ms_median: float = 0.0
    latency_ms_p95: float = 0.0


def score(folder: Path, labelled: Path, urgent_signs: set[str], variant: str) -> QualityReport:
    """Run the runtime reader over a labelled JSONL set and count, per locale and per sign."""
    import statistics

    from edgemed.inference.sign_model import SignModel

    model = SignModel(folder / "model.onnx")
    report = QualityReport(variant, (folder / "model.onnx").stat().st_size)
    by_locale: dict[str, Scores] = {}
    urgent: dict[str, Scores] = {}
    per_sign: dict[str, Scores] = {}
    times: list[float] = []
    for line in labelled.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        started = time.perf_counter()
        readings = model.read(row["text"])
        times.append((time.perf_counter() - started) * 1000)
        said = {r.sign for r in model.present(readings)}
        truth = set(row.get("present", [])) & set(model.signs)
        denied = set(row.get("absent", [])) & set(model.signs)
        locale = row.get("locale", "en")
        for table, key in ((by_locale, locale), (by_locale, "all")):
            _count(table.setdefault(key, Scores()), said, truth, denied)
        for key in (locale, "all"):
            _count(
                urgent.setdefault(key, Scores()),
                said & urgent_signs,
                truth & urgent_signs,
                denied & urgent_signs,
            )
        for sign in truth | said | denied:
            _count(
                per_sign.setdefault(sign, Scores()), said & {sign}, truth & {sign}, denied & {sign}
            )
    report.per_locale = {k: v.as_dict() for k, v in sorted(by_locale.items())}
    report.urgent = {k: v.as_dict() for k, v in sorted(urgent.items())}
    report.per_sign = {k: v.as_dict() for k, v in sorted(per_sign.items())}
    report.latency_ms_median = round(statistics.median(times), 2) if times else 0.0
    if len(times) >= 20:
        report.latency_ms_p95 = round(statistics.quantiles(times, n=20)[-1], 2)
    return report


def _count(s: Scores, said: set[str], truth: set[str], denied: set[str]) -> None:
    s.hits += len(said & truth)
    s.false += len(said - truth)
    s.missed += len(truth - said)
    s.denied += len(denied)
    s.negations += len(said & denied)


def choose_thresholds(
    trained: Path, validation: Sequence[Any], beta: float = 2.0
) -> dict[str, float]:
    """One "present" threshold for all signs: the one with the best F-beta (beta 2: recall
    counts four times precision; a wrong proposal costs the nurse a tap, a missed sign can cost
    a category) on the training corpus's validation split. Never chosen on the held-out set."""
    import numpy as np
    import torch

    from quantize.sign_model import _batch

    model, tokenizer, signs = load_trained(trained)
    probs: list[Any] = []
    targets: list[Any] = []
    with torch.no_grad():
        for start in range(0, len(validation), 64):
            ids, mask, target = _batch(tokenizer, validation[start : start + 64], signs)
            logits, _ = model(ids, mask)
            probs.append(torch.softmax(logits, -1).numpy())
            targets.append(target.numpy())
    p = np.concatenate(probs)
    t = np.concatenate(targets)
    truth = t == CLASSES.index("present")
    best, best_score = 0.5, -1.0
    for threshold in np.arange(0.1, 0.95, 0.05):
        said = (p[..., 1] >= threshold) & (p[..., 1] >= p[..., 2])
        hits = float((said & truth).sum())
        recall = hits / max(1.0, float(truth.sum()))
        precision = hits / max(1.0, float(said.sum()))
        if recall + precision == 0:
            continue
        score = (1 + beta**2) * precision * recall / (beta**2 * precision + recall)
        if score > best_score:
            best, best_score = float(round(threshold, 2)), score
    return {"*": best}
