"""A real HF-format model made from the catalog's SmolLM2 GGUF (no model hub is reachable here).

transformers reads a GGUF into a PyTorch model and writes an HF folder. Its GGUF reader does not
carry two tokenizer facts, so they are restored to what SmolLM2's published tokenizer.json says:
the pre-tokenizer (digits split one by one, then byte-level; llama.cpp's "smollm") and no BOS
added (the GGUF says add_bos_token = false).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

SMOLLM_PRE_TOKENIZER = {
    "type": "Sequence",
    "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    ],
}
NO_BOS = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}

PROMPTS = [
    "<|im_start|>user\nWhat is a fever?<|im_end|>\n<|im_start|>assistant\n",
    "The capital of France is",
    "Count: 1, 2, 3,",
    "def add(a, b):",
    "<|im_start|>user\nGive three signs of dehydration.<|im_end|>\n<|im_start|>assistant\n",
]


def hf_folder_from_gguf(gguf_path: Path, folder: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (folder / "model.safetensors").is_file():
        return folder  # made whole by an earlier run (written under .part, then renamed)
    final, folder = folder, folder.with_name(folder.name + ".part")
    shutil.rmtree(folder, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
    )
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    spec["pre_tokenizer"] = SMOLLM_PRE_TOKENIZER
    spec["post_processor"] = NO_BOS
    (folder / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    folder.replace(final)
    return final


def greedy_texts(gguf_path: Path, count: int = 24) -> list[str]:
    import llama_cpp

    model = llama_cpp.Llama(str(gguf_path), n_ctx=256, verbose=False, seed=0, n_threads=2)
    texts = []
    for prompt in PROMPTS:
        out = model.create_completion(prompt, max_tokens=count, temperature=0.0, stream=False)
        texts.append(out["choices"][0]["text"])  # type: ignore[index]
    return texts
