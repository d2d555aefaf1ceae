"""A GGUF header reader in plain Python: enough to refuse a broken file before llama.cpp sees it.

llama.cpp trusts the header it reads; a truncated or hand-edited file can make it read past the
end or allocate absurd amounts. This walks the header (magic, version, metadata, tensor table),
checks every count against sane bounds and checks that every tensor's bytes lie inside the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from edgemed.errors import EdgemedError
from edgemed.i18n import _

MAGIC = b"GGUF"
_MAX_TENSORS = 100_000
_MAX_METADATA = 100_000
_MAX_STRING = 64 * 1024 * 1024
_MAX_DIMS = 4

# ggml type id -> (elements per block, bytes per block), as in ggml's type traits.
GGML_BLOCKS: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4),
    27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66),
    39: (32, 17),
}  # fmt: skip

# GGUF metadata value types -> struct format of a scalar (8 = string, 9 = array).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9

MetadataValue = str | int | float | bool


class ModelFileError(EdgemedError):
    """A model file that is missing, truncated, corrupt or not what it claims to be."""


@dataclass(frozen=True)
class GgufHeader:
    version: int
    tensor_count: int
    # Scalars and strings only; arrays (the vocabulary) are recorded by their length.
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    array_lengths: dict[str, int] = field(default_factory=dict)
    data_end: int = 0

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def chat_template(self) -> str:
        return str(self.metadata.get("tokenizer.chat_template", ""))

    def context_length(self) -> int:
        value = self.metadata.get(f"{self.architecture}.context_length", 0)
        return int(value) if isinstance(value, int | float) else 0


class _Reader:
    def __init__(self, stream: BinaryIO, path: Path, size: int) -> None:
        self.stream, self.path, self.size = stream, path, size

    def broken(self, why: str) -> ModelFileError:
        return ModelFileError(
            _("{path} is not a usable GGUF model file: {why}.").format(path=self.path, why=why),
            hint=_("Reinstall it with `edgemed models install ID`, or `edgemed models verify`."),
        )

    def take(self, n: int) -> bytes:
        data = self.stream.read(n)
        if len(data) != n:
            raise self.broken(_("it ends inside its header (truncated)"))
        return data

    def unpack(self, fmt: str) -> int | float | bool:
        value: int | float | bool = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def u32(self) -> int:
        return int(self.unpack("<I"))

    def u64(self) -> int:
        return int(self.unpack("<Q"))

    def string(self) -> str:
        length = self.u64()
        if length > _MAX_STRING or self.stream.tell() + length > self.size:
            raise self.broken(_("a string length is impossible"))
        return self.take(length).decode("utf-8", errors="replace")

    def skip_value(self, kind: int) -> None:
        if kind == _STRING:
            length = self.u64()
            if self.stream.tell() + length > self.size:
                raise self.broken(_("a string length is impossible"))
            self.stream.seek(length, 1)
        elif kind in _SCALARS:
            self.stream.seek(struct.calcsize(_SCALARS[kind]), 1)
        else:
            raise self.broken(_("unknown metadata type {kind}").format(kind=kind))

    def value(self, key: str, header: dict[str, MetadataValue], arrays: dict[str, int]) -> None:
        kind = self.u32()
        if kind == _STRING:
            header[key] = self.string()
        elif kind in _SCALARS:
            header[key] = self.unpack(_SCALARS[kind])
        elif kind == _ARRAY:
            item_kind, count = self.u32(), self.u64()
            if count > self.size:
                raise self.broken(_("an array length is impossible"))
            arrays[key] = count
            if item_kind in _SCALARS:
                # Fixed-size items: one seek instead of a loop over the whole vocabulary.
                self.stream.seek(count * struct.calcsize(_SCALARS[item_kind]), 1)
            else:
                for _i in range(count):
                    self.skip_value(item_kind)
            if self.stream.tell() > self.size:
                raise self.broken(_("it ends inside its header (truncated)"))
        else:
            raise self.broken(_("unknown metadata type {kind}").format(kind=kind))


def read_gguf_header(path: Path) -> GgufHeader:
    """Read and sanity-check ``path``'s GGUF header; raise :class:`ModelFileError` if broken."""
    path = Path(path)
    try:
        size = path.stat().st_size
        stream = path.open("rb")
    except OSError as error:
        raise ModelFileError(
            _("{path} cannot be opened: {error}").format(path=path, error=error.strerror)
        ) from None
    with stream:
        reader = _Reader(stream, path, size)
        if size < 24 or reader.take(4) != MAGIC:
            raise reader.broken(_("it does not start with the GGUF signature"))
        version = reader.u32()
        if version not in (2, 3):
            raise reader.broken(
                _("GGUF version {version} is not supported").format(version=version)
            )
        tensor_count, kv_count = reader.u64(), reader.u64()
        if tensor_count > _MAX_TENSORS or kv_count > _MAX_METADATA:
            raise reader.broken(_("its header counts are impossible"))
        metadata: dict[str, MetadataValue] = {}
        arrays: dict[str, int] = {}
        for _i in range(kv_count):
            reader.value(reader.string(), metadata, arrays)
        tensors: list[tuple[int, int, int]] = []  # (offset, ggml type, element count)
        for _i in range(tensor_count):
            reader.string()
            n_dims = reader.u32()
            if n_dims == 0 or n_dims > _MAX_DIMS:
                raise reader.broken(_("a tensor has {n} dimensions").format(n=n_dims))
            elements = 1
            for _d in range(n_dims):
                elements *= reader.u64()
            ggml_type, offset = reader.u32(), reader.u64()
            tensors.append((offset, ggml_type, elements))
        alignment_value = metadata.get("general.alignment", 32)
        alignment = int(alignment_value) if isinstance(alignment_value, int) else 32
        if alignment <= 0 or alignment & (alignment - 1):
            raise reader.broken(_("its alignment is not a power of two"))
        data_start = -(-stream.tell() // alignment) * alignment
        data_end = data_start
        for offset, ggml_type, elements in tensors:
            block = GGML_BLOCKS.get(ggml_type)
            if block is None:
                # A newer quantization than this table knows: its extent cannot be checked here,
                # llama.cpp will judge it.
                continue
            per_block, block_bytes = block
            data_end = max(data_end, data_start + offset + -(-elements // per_block) * block_bytes)
        if data_end > size:
            raise reader.broken(
                _("it is {missing} bytes shorter than its tensors need (truncated)").format(
                    missing=data_end - size
                )
            )
    return GgufHeader(version, tensor_count, metadata, arrays, data_end)
