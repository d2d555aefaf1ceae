"""HF -> ONNX with a KV cache (optimum-onnx), then onnxruntime int8 dynamic and 4-bit MatMulNBits.

Each variant is a folder (model.onnx + config + tokenizer files) that onnxruntime, or optimum's
ORTModelForCausalLM, opens directly. Folders are built under ``<name>.part`` and renamed when
complete, so a folder with the final name is always whole.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from edgemed.i18n import _
from quantize.errors import QuantizeError

VARIANTS = ("fp32", "int8", "int4")


def _part(folder: Path) -> Path:
    part = folder.with_name(folder.name + ".part")
    if part.exists():
        shutil.rmtree(part)  # left by an interrupted run: start that variant again
    return part


def export_fp32(source_dir: Path, folder: Path) -> Path:
    """Export a causal LM with past key/values in and out (text-generation-with-past)."""
    from optimum.exporters.onnx import main_export

    part = _part(folder)
    try:
        main_export(
            str(source_dir),
            output=str(part),
            task="text-generation-with-past",
            device="cpu",
            do_validation=False,
        )
    except Exception as error:  # optimum raises bare exceptions of many kinds
        shutil.rmtree(part, ignore_errors=True)
        raise QuantizeError(
            _("The ONNX export of {source} failed: {error}").format(source=source_dir, error=error)
        ) from error
    os.replace(part, folder)
    return folder


def _copy_side_files(fp32: Path, part: Path) -> None:
    part.mkdir(parents=True)
    for item in fp32.iterdir():
        if item.is_file() and not item.name.startswith("model.onnx"):
            shutil.copy2(item, part / item.name)


def quantize_onnx(fp32: Path, folder: Path, variant: str) -> Path:
    """int8: dynamic quantization of every MatMul; int4: blockwise 4-bit weights (MatMulNBits)."""
    part = _part(folder)
    _copy_side_files(fp32, part)
    source, target = fp32 / "model.onnx", part / "model.onnx"
    if variant == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(source, target, weight_type=QuantType.QInt8)
    elif variant == "int4":
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        quantizer = MatMulNBitsQuantizer(
            onnx.load(str(source)), block_size=32, is_symmetric=True, accuracy_level=4
        )
        quantizer.process()
        large = (fp32 / "model.onnx_data").exists()
        quantizer.model.save_model_to_file(str(target), use_external_data_format=large)
    else:
        raise QuantizeError(_("Unknown ONNX variant {v}.").format(v=variant))
    os.replace(part, folder)
    return folder
