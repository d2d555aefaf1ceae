"""The quantization ladder: every GGUF type made from one high-precision GGUF by llama.cpp itself.

``llama_cpp.llama_model_quantize`` is llama.cpp's own quantizer (the code behind
``llama-quantize``), so a k-quant here is exactly what the clinic's engine expects.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edgemed.i18n import _
from quantize.errors import QuantizeError
from quantize.formats import GGUF_TYPES


@contextmanager
def _native_log(log: Path | None) -> Iterator[None]:
    """Send llama.cpp's own stderr lines (hundreds per model) to ``log`` instead of the screen."""
    if log is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with log.open("ab") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quantize_gguf(
    base: Path, out_path: Path, quant: str, threads: int | None = None, log: Path | None = None
) -> Path:
    """Quantize ``base`` (an f32/f16/bf16 GGUF) to ``quant``, via ``<out>.part``."""
    import llama_cpp

    code, _bits = GGUF_TYPES[quant]
    part = out_path.with_name(out_path.name + ".part")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = code
    params.nthread = threads or max(1, os.cpu_count() or 1)
    with _native_log(log):
        status = llama_cpp.llama_model_quantize(
            str(base).encode(), str(part).encode(), llama_cpp.byref(params)
        )
    if status != 0 or not part.is_file():
        part.unlink(missing_ok=True)
        raise QuantizeError(
            _("llama.cpp could not quantize {base} to {quant} (status {status}).").format(
                base=base.name, quant=quant, status=status
            ),
            hint=_("llama.cpp's messages are in {log}.").format(log=log) if log else None,
        )
    os.replace(part, out_path)
    return out_path
