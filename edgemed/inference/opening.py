"""Choosing and opening an engine for a model id or a path.

The engine modules are imported only here, when a model is actually opened, so that commands
that never touch a model (``edgemed assess``) do not pay for loading llama.cpp or onnxruntime.
"""

from __future__ import annotations

import functools
from pathlib import Path

from edgemed.catalog import ModelFileError, VouchedModel, installed_models, load_catalog, vouch_for
from edgemed.errors import EdgemedError
from edgemed.i18n import _
from edgemed.inference.engine import Engine, EngineSettings, LlamaCppUnavailable, NoEngine
from edgemed.locations import models_dir


@functools.cache
def _llama_load() -> LlamaCppUnavailable | None:
    """Import the llama.cpp engine once per process: None when it loads, else why not."""
    try:
        import edgemed.inference.llama  # noqa: F401
    except LlamaCppUnavailable as error:
        return error
    return None


def llama_build() -> tuple[bool | None, str]:
    """(can this llama.cpp offload to a GPU, its CPU feature line); (None, "") if it is not
    installed; (False, "") if it is but does not load (llama_problem() says why)."""
    failure = _llama_load()
    if failure is not None:
        return (False if failure.installed else None), ""
    from edgemed.inference.llama import gpu_offload_supported, system_info

    return gpu_offload_supported(), system_info()


def llama_problem() -> LlamaCppUnavailable | None:
    """Why the installed llama.cpp does not load, if it does not (None when it loads, or when
    llama-cpp-python is simply not installed: rules-only by design)."""
    failure = _llama_load()
    return failure if failure is not None and failure.installed else None


def settings_for_this_machine() -> EngineSettings:
    """Threads, context, batch and GPU layers from this machine's device profile."""
    from edgemed.hardware import advice_for, gather_facts

    offload, info = llama_build()
    advice = advice_for(gather_facts(offload, info, models_dir()))
    return EngineSettings(advice.threads, advice.context, advice.gpu_layers, advice.batch)


def _format_of(vouched: VouchedModel) -> str:
    if vouched.artifact is not None:
        return vouched.artifact.format
    if vouched.path.is_dir() and any(vouched.path.glob("*.onnx")):
        return "onnx"
    if vouched.path.suffix == ".gguf":
        return "gguf"
    raise ModelFileError(
        _("{path} is neither a GGUF file nor a folder with an ONNX model.").format(
            path=vouched.path
        )
    )


def open_engine(model: str | Path, settings: EngineSettings | None = None) -> Engine:
    """Vouch for ``model`` (installed id, "default", or a path) and return its loaded engine."""
    if settings is None:
        settings = settings_for_this_machine()
    vouched = vouch_for(model)
    artifact = vouched.artifact
    family = artifact.family if artifact else ""
    model_id = artifact.id if artifact else vouched.path.name
    context = (
        min(settings.context, artifact.context)
        if artifact and artifact.context
        else settings.context
    )
    settings = EngineSettings(settings.threads, context, settings.gpu_layers, settings.batch)
    engine: Engine
    if _format_of(vouched) == "gguf":
        from edgemed.inference.llama import LlamaCppEngine

        engine = LlamaCppEngine(
            vouched.path,
            settings,
            model_id=model_id,
            family=family,
            template_name=artifact.chat_template if artifact else "",
        )
    else:
        from edgemed.inference.onnx import OnnxEngine

        engine = OnnxEngine(vouched.path, settings, model_id=model_id, family=family)
    engine.load()
    try:
        # What was loaded must be what was checked: a file swapped in between (another inode,
        # or the same one rewritten or relinked: a new ctime) is refused after the fact.
        vouched.ensure_unchanged()
    except EdgemedError:
        engine.close()
        raise
    return engine


def open_default_engine(settings: EngineSettings | None = None) -> Engine:
    """The catalog's default model if installed, else any installed model, else rules-only."""
    installed = {m.artifact.id for m in installed_models()}
    try:
        default_id = load_catalog().default_id
    except EdgemedError:
        default_id = ""
    for candidate in [default_id, *sorted(installed)]:
        if candidate in installed:
            return open_engine(candidate, settings)
    return NoEngine()
