"""Read one tensor at a time straight from a safetensors file, bf16 included, without torch.

The file is memory-mapped, so only the tensor being converted is paged in; bf16 is widened to
f32 by shifting its bits (numpy has no bf16 type).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from quantize.source import TensorEntry

_NUMPY = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def _data_start(path: Path, cache: dict[Path, int]) -> int:
    if path not in cache:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
        cache[path] = 8 + length
    return cache[path]


class TensorReader:
    """Loads tensors by their header entry, as float32 numpy arrays."""

    def __init__(self) -> None:
        self._starts: dict[Path, int] = {}
        self._offsets: dict[tuple[Path, str], tuple[int, int]] = {}

    def _offsets_of(self, entry: TensorEntry) -> tuple[int, int]:
        key = (entry.file, entry.name)
        if key not in self._offsets:
            from quantize.source import read_safetensors_header

            for name, info in read_safetensors_header(entry.file).items():
                if name != "__metadata__":
                    begin, end = info["data_offsets"]
                    self._offsets[(entry.file, name)] = (int(begin), int(end))
        return self._offsets[key]

    def load(self, entry: TensorEntry) -> np.ndarray:
        dtype = _NUMPY.get(entry.dtype)
        if dtype is None:
            raise ValueError(f"tensor {entry.name} has dtype {entry.dtype}")
        begin, end = self._offsets_of(entry)
        start = _data_start(entry.file, self._starts) + begin
        count = (end - begin) // np.dtype(dtype).itemsize
        raw = np.memmap(entry.file, dtype=dtype, mode="r", offset=start, shape=(count,))
        if entry.dtype == "BF16":
            widened = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            widened = np.asarray(raw, dtype=np.float32)
        del raw
        return widened.reshape(entry.shape)
