"""``inspect``: go / no-go for a source model, in seconds, before any heavy work.

Reads only config.json, the tokenizer files and the safetensors headers. Every blocking problem
is a sentence a builder can act on; notes are things worth knowing that do not block.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from edgemed.i18n import _
from quantize import architectures, formats
from quantize.errors import UnsupportedModel
from quantize.source import SourceModel, open_source
from quantize.vocabulary import TokenizerReport, inspect_tokenizer

# Working memory of the Python process and llama.cpp itself, on top of the tensors.
_OVERHEAD_BYTES = 300 * 1024 * 1024


@dataclass(frozen=True)
class MachineResources:
    """What this machine has free, measured at the moment of the check."""

    ram_available: int
    disk_free: int

    @classmethod
    def measure(cls, out_dir: Path) -> MachineResources:
        import psutil  # type: ignore[import-untyped, unused-ignore]

        probe = out_dir
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        return cls(psutil.virtual_memory().available, shutil.disk_usage(probe).free)


@dataclass
class Readiness:
    """The verdict: ``go`` is False when any problem blocks the run."""

    source: Path
    architecture: str
    family: str | None
    tokenizer: TokenizerReport
    dtypes: dict[str, int]
    parameters: int
    weight_bytes: int
    ram_needed_convert: int
    ram_needed_torch: int
    disk_needed: int
    machine: MachineResources
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return not self.problems


def _gib(count: int) -> str:
    if count < 1024**3:
        return f"{count / 1024**2:.1f} MiB"
    return f"{count / 1024**3:.2f} GiB"


def check(
    source_dir: Path,
    gguf: list[str],
    onnx: list[str],
    out_dir: Path,
    machine: MachineResources | None = None,
) -> Readiness:
    """Everything ``inspect`` reports. Raises only when the folder is not a model at all."""
    source: SourceModel = open_source(source_dir)
    machine = machine or MachineResources.measure(out_dir)
    problems: list[str] = []
    notes: list[str] = []
    family: str | None = None
    try:
        hp = architectures.read_hyperparameters(source.config, source.architecture)
        family = hp.family
        if hp.rope_scaling:
            notes.append(
                _("Rope scaling {kind} is carried over.").format(kind=hp.rope_scaling["rope_type"])
            )
    except UnsupportedModel as error:
        problems.append(error.message + (" " + error.hint if error.hint else ""))
    tokenizer = inspect_tokenizer(source)
    problems.extend(tokenizer.problems)
    if not tokenizer.chat_template:
        notes.append(_("No chat template: the nurse's app will need a prompt format for it."))
    if not tokenizer.eos:
        problems.append(_("The tokenizer names no EOS token: generation would never stop."))
    odd = sorted(set(source.dtypes) - {"F32", "F16", "BF16"})
    if odd:
        problems.append(
            _("Weights stored as {dtypes} (already quantized?) cannot be converted.").format(
                dtypes=", ".join(odd)
            )
        )
    convert_ram = 3 * source.largest_tensor_bytes + _OVERHEAD_BYTES
    torch_ram = 2 * source.parameter_count * 4 + _OVERHEAD_BYTES  # f32 model + a working copy
    disk = formats.estimated_bytes(source.parameter_count, gguf, onnx)
    if disk > machine.disk_free:
        problems.append(
            _(
                "Not enough disk: the outputs need about {need}, {folder} has {free} free. "
                "Free space, choose another --out, or ask for fewer formats."
            ).format(need=_gib(disk), folder=out_dir, free=_gib(machine.disk_free))
        )
    if convert_ram > machine.ram_available:
        problems.append(
            _("Not enough memory to convert: about {need} needed, {free} available.").format(
                need=_gib(convert_ram), free=_gib(machine.ram_available)
            )
        )
    if (onnx or gguf) and torch_ram > machine.ram_available:
        notes.append(
            _(
                "ONNX export, LoRA merge and evaluate load the model in PyTorch (about {need}); "
                "this machine has {free} available."
            ).format(need=_gib(torch_ram), free=_gib(machine.ram_available))
        )
    return Readiness(
        source=source.path,
        architecture=source.architecture,
        family=family,
        tokenizer=tokenizer,
        dtypes=source.dtypes,
        parameters=source.parameter_count,
        weight_bytes=source.weight_bytes,
        ram_needed_convert=convert_ram,
        ram_needed_torch=torch_ram,
        disk_needed=disk,
        machine=machine,
        problems=problems,
        notes=notes,
    )


def report_lines(result: Readiness) -> list[str]:
    """The human report, one line each, verdict last."""
    tok = result.tokenizer
    lines = [
        _("Source:        {path}").format(path=result.source),
        _("Architecture:  {arch} -> {family}").format(
            arch=result.architecture, family=result.family or _("unsupported")
        ),
        _("Tokenizer:     {kind}, pre-tokenizer {pre}").format(
            kind=tok.kind, pre=tok.pre or _("not recognised")
        ),
        _("Chat template: {yes}").format(yes=_("yes") if tok.chat_template else _("no")),
        _("BOS / EOS:     {bos} / {eos}").format(bos=tok.bos or "-", eos=tok.eos or "-"),
        _("Weights:       {dtypes}").format(
            dtypes=", ".join(f"{k} {v:,}" for k, v in sorted(result.dtypes.items()))
        ),
        _("Parameters:    {n:,} ({size})").format(
            n=result.parameters, size=_gib(result.weight_bytes)
        ),
        _("RAM to convert: {need} (available {free}); PyTorch steps: {torch}").format(
            need=_gib(result.ram_needed_convert),
            free=_gib(result.machine.ram_available),
            torch=_gib(result.ram_needed_torch),
        ),
        _("Disk needed:   {need} (free {free})").format(
            need=_gib(result.disk_needed), free=_gib(result.machine.disk_free)
        ),
    ]
    lines += [_("note: {text}").format(text=note) for note in result.notes]
    lines += [_("problem: {text}").format(text=problem) for problem in result.problems]
    lines.append(_("GO") if result.go else _("NO-GO"))
    return lines
