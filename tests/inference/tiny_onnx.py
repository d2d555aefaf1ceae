"""A tiny random Llama with its own byte-level BPE, exported to ONNX with optimum at test time.

Built once per test session (about 15 s); torch, transformers and optimum come from the
`quantize` extra and are used only here, never by edgemed itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "The patient has a fever and a cough.",
    "Breathing is fast; the child is drowsy and cannot drink.",
    "yes no true false normal fast absent",
    "Temperature 39 degrees, pulse 120, blood pressure 90 over 60.",
    "Mgonjwa ana homa na kikohozi. Le patient a de la fievre.",
] * 20


@dataclass(frozen=True)
class TinyModel:
    source: Path  # the Hugging Face folder (PyTorch weights + tokenizer)
    onnx: Path  # optimum's export with KV cache, plus the tokenizer files


def build_tiny_model(root: Path, hidden: int = 64, layers: int = 2) -> TinyModel:
    import torch
    from optimum.exporters.onnx import main_export
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )  # fmt: skip
    tokenizer.chat_template = CHATML
    config = LlamaConfig(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name:  # random norms, so a wrong norm in the export cannot hide
                parameter.add_(torch.randn_like(parameter) * 0.1)
    source = root / "hf"
    model.save_pretrained(source)
    tokenizer.save_pretrained(source)
    onnx = root / "onnx"
    main_export(
        str(source), output=str(onnx), task="text-generation-with-past", device="cpu",
        no_post_process=False,
    )  # fmt: skip
    return TinyModel(source, onnx)
