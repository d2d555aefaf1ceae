"""llama.cpp's side of ``evaluate``, in a child process that never shares one with torch.

A process that has imported a CUDA build of torch dies with a segmentation fault when it loads a
CUDA build of llama.cpp, so the reference logits (torch) stay in the parent and the GGUF logits
come from a child started with the "spawn" method: a fresh interpreter that imports llama_cpp and
nothing of torch. The two talk over a pipe: the parent sends token ids, the child answers with the
logits as a float32 array (or an error message). The parent waits at most ``timeout`` seconds for
each answer, then stops the child and raises a ``QuantizeError``: never a hang.

When llama-cpp-python was built with GPU offload (CUDA, Metal, Vulkan), the child puts every layer
on the GPU; else it runs on the CPU with llama.cpp's default threads.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from edgemed.i18n import _
from quantize.errors import QuantizeError

LOAD_TIMEOUT_S = 600.0
CALL_TIMEOUT_S = 600.0


def _serve(conn: Connection, path: str, n_ctx: int, threads: int | None) -> None:
    """The child: load the GGUF, then answer requests until told to stop (or the pipe closes)."""
    try:
        import llama_cpp

        gpu = bool(llama_cpp.llama_supports_gpu_offload())
        model = llama_cpp.Llama(
            path,
            n_ctx=n_ctx,
            logits_all=True,
            verbose=False,
            n_threads=threads,
            n_gpu_layers=-1 if gpu else 0,
        )
    except BaseException as error:
        conn.send(("error", f"{type(error).__name__}: {error}"))
        conn.close()
        return
    conn.send(("ready", gpu))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            break
        kind = request[0]
        if kind == "close":
            break
        try:
            if kind == "logits":
                ids = list(request[1])
                model.reset()
                model.eval(ids)
                conn.send(("ok", np.asarray(model.scores[: len(ids)], dtype=np.float32)))
            elif kind == "speed":
                model.reset()
                started = time.perf_counter()
                out = model.create_completion(
                    "The nurse", max_tokens=32, temperature=0.0, stream=False
                )
                produced = int(out["usage"]["completion_tokens"])  # type: ignore[index]
                conn.send(("ok", produced / max(time.perf_counter() - started, 1e-9)))
            else:
                conn.send(("error", f"unknown request {kind!r}"))
        except BaseException as error:
            conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
    conn.close()


class GgufLogits:
    """A llama.cpp model in a child process: ``logits(ids)``, ``speed()``; close when done."""

    def __init__(
        self,
        path: Path,
        n_ctx: int,
        threads: int | None = None,
        load_timeout: float = LOAD_TIMEOUT_S,
        call_timeout: float = CALL_TIMEOUT_S,
    ) -> None:
        self.path = path
        self.call_timeout = call_timeout
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child_conn, str(path), n_ctx, threads),
            name="edgemed-gguf-logits",
            daemon=True,
        )
        self._process.start()
        child_conn.close()
        self.gpu = bool(self._answer(load_timeout, _("loading")))

    def _answer(self, timeout: float, doing: str) -> Any:
        if not self._conn.poll(timeout):
            self.close(kill=True)
            raise QuantizeError(
                _("llama.cpp took over {s:.0f} s {doing} {file}; stopped it.").format(
                    s=timeout, doing=doing, file=self.path.name
                )
            )
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(5)
            code = self._process.exitcode
            self.close(kill=True)
            raise QuantizeError(
                _("llama.cpp stopped (exit code {code}) while {doing} {file}.").format(
                    code=code, doing=doing, file=self.path.name
                )
            ) from None
        if status == "error":
            self.close(kill=True)
            raise QuantizeError(
                _("llama.cpp failed while {doing} {file}: {error}").format(
                    doing=doing, file=self.path.name, error=value
                )
            )
        return value

    def logits(self, ids: list[int]) -> np.ndarray:
        self._send(("logits", [int(i) for i in ids]))
        return np.asarray(self._answer(self.call_timeout, _("reading")))

    def speed(self) -> float:
        self._send(("speed",))
        return float(self._answer(self.call_timeout, _("timing")))

    def _send(self, request: tuple[Any, ...]) -> None:
        try:
            self._conn.send(request)
        except (BrokenPipeError, OSError):
            self.close(kill=True)
            raise QuantizeError(
                _("llama.cpp is no longer running for {file}.").format(file=self.path.name)
            ) from None

    def close(self, kill: bool = False) -> None:
        if not kill and self._process.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(("close",))
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._conn.close()

    def __enter__(self) -> GgufLogits:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
