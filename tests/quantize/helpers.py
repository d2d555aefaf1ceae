"""Running the same text through PyTorch and through llama.cpp, for comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PROMPT = (
    "The patient has a fever. La patiente a de la fièvre, 39.2 C! "
    "Mgonjwa ana homa kwa siku tatu, anapumua haraka sana."
)


def torch_model(folder: Path) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()


def torch_ids(folder: Path, text: str) -> list[int]:
    from transformers import AutoTokenizer

    return list(AutoTokenizer.from_pretrained(folder)(text)["input_ids"])


def torch_logits(folder: Path, ids: list[int]) -> np.ndarray:
    import torch

    with torch.no_grad():
        return np.asarray(torch_model(folder)(torch.tensor([ids])).logits[0].numpy())


def torch_greedy(folder: Path, ids: list[int], count: int) -> list[int]:
    import torch

    model = torch_model(folder)
    with torch.no_grad():
        out = model.generate(
            torch.tensor([ids]),
            max_new_tokens=count,
            do_sample=False,
            pad_token_id=0,
            eos_token_id=None,
        )
    return [int(t) for t in out[0, len(ids) :]]


def llama(path: Path, f32_cache: bool = True) -> Any:
    import llama_cpp

    kwargs: dict[str, Any] = {}
    if f32_cache:
        kwargs = {"type_k": llama_cpp.GGML_TYPE_F32, "type_v": llama_cpp.GGML_TYPE_F32}
    return llama_cpp.Llama(
        str(path), n_ctx=256, logits_all=True, verbose=False, n_threads=2, seed=0, **kwargs
    )


def gguf_logits(path: Path, ids: list[int]) -> np.ndarray:
    model = llama(path)
    model.eval(ids)
    return np.asarray(model.scores[: len(ids)], dtype=np.float32)


def gguf_greedy(path: Path, ids: list[int], count: int) -> list[int]:
    model = llama(path)
    model.eval(ids)
    produced: list[int] = []
    for _ in range(count):
        token = int(np.argmax(model.scores[model.n_tokens - 1]))
        produced.append(token)
        model.eval([token])
    return produced
