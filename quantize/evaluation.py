"""How much quality an artifact loses against its source model, on the project's evaluation text.

For every position of the text: the source's next-token distribution P (PyTorch, f32) and the
artifact's Q. Reported: the artifact's perplexity, the mean KL divergence KL(P || Q), and how
often both put the same token on top; plus generation speed. These are the figures llama.cpp
publishes for its own quant table, so they can be compared directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quantize.gguf_logits import GgufLogits

DATA_DIR = Path(__file__).parent / "data"
# llama.cpp's q4_K_M on Llama-3-8B loses 0.031 nats; past 0.1 a quant visibly changes answers.
DEFAULT_MAX_KLD = 0.1
WINDOW = 128

Logits = Callable[[list[int]], np.ndarray]


@dataclass(frozen=True)
class Quality:
    perplexity: float
    kld: float
    same_top: float
    tokens: int
    tokens_per_s: float = 0.0

    def metrics(self) -> dict[str, float]:
        return {
            "perplexity": round(self.perplexity, 4),
            "kld": round(self.kld, 6),
            "same_top": round(self.same_top, 4),
            "eval_tokens": float(self.tokens),
            "tokens_per_s": round(self.tokens_per_s, 2),
        }


def evaluation_text(languages: tuple[str, ...] = ()) -> str:
    files = sorted(DATA_DIR.glob("eval-*.txt"))
    chosen = [f for f in files if not languages or f.stem.removeprefix("eval-") in languages]
    return "\n\n".join(f.read_text(encoding="utf-8") for f in chosen)


def windows(ids: list[int], size: int = WINDOW) -> Iterator[list[int]]:
    for start in range(0, len(ids) - 1, size):
        chunk = ids[start : start + size]
        if len(chunk) > 1:
            yield chunk


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def compare(
    source: Logits, artifact: Logits, ids: list[int], progress: Callable[[int], None] | None = None
) -> Quality:
    """Perplexity of the artifact and its divergence from the source, window by window."""
    nll, kld, same, count = 0.0, 0.0, 0, 0
    for chunk in windows(ids):
        if progress is not None:
            progress(len(chunk))
        p = _log_softmax(source(chunk)[:-1])
        q = _log_softmax(artifact(chunk)[:-1])
        targets = np.asarray(chunk[1:])
        nll -= float(q[np.arange(len(targets)), targets].sum())
        kld += float((np.exp(p) * (p - q)).sum())
        same += int((p.argmax(-1) == q.argmax(-1)).sum())
        count += len(targets)
    return Quality(
        perplexity=float(np.exp(nll / count)), kld=kld / count, same_top=same / count, tokens=count
    )


def torch_logits(source_dir: Path) -> Logits:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(source_dir, dtype=torch.float32).eval()

    def run(ids: list[int]) -> np.ndarray:
        with torch.no_grad():
            return np.asarray(model(torch.tensor([ids])).logits[0].float().numpy())

    return run


def gguf_logits(path: Path, threads: int | None = None) -> GgufLogits:
    """Logits from llama.cpp (f16 KV cache, as the clinic runs it) and a speed probe.

    llama.cpp runs in a child process (quantize/gguf_logits.py), on the GPU when
    llama-cpp-python was built with offload: this process, which holds torch, never imports
    llama_cpp. Close the result (or use it in ``with``) when done.
    """
    return GgufLogits(path, n_ctx=WINDOW * 2, threads=threads)


def onnx_logits(folder: Path) -> tuple[Logits, Callable[[], float]]:
    """Logits from onnxruntime through optimum's causal-LM wrapper (KV cache used in generate)."""
    import torch
    from optimum.onnxruntime import ORTModelForCausalLM

    model = ORTModelForCausalLM.from_pretrained(folder)

    def run(ids: list[int]) -> np.ndarray:
        tensor = torch.tensor([ids])
        out = model(input_ids=tensor, attention_mask=torch.ones_like(tensor))
        return np.asarray(out.logits[0].float().numpy())

    def speed() -> float:
        prompt = torch.tensor([[1, 2, 3, 4]])
        started = time.perf_counter()
        generated = model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=32,
            min_new_tokens=32,
            do_sample=False,
            pad_token_id=0,
        )
        produced = generated.shape[1] - prompt.shape[1]
        return float(produced) / max(time.perf_counter() - started, 1e-9)

    return run, speed


def text_ids(source_dir: Path, max_tokens: int) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source_dir)
    ids = tokenizer(evaluation_text(), add_special_tokens=True)["input_ids"]
    return list(ids[:max_tokens])
