"""A format derived on this machine from an installed model, chosen by ``edgemed doctor --bench``.

llama.cpp reads some formats much faster than others on a given CPU (it repacks Q4_0 and Q8_0
for AVX2/AVX-512 and Arm dot-product kernels), so the doctor may requantize the shipped file,
measure it, and keep the fastest one that passes the quality gate. Its record,
``<models dir>/<id>/derived.json``, names that file with its own sha256 and size, the sha256 of
the shipped file it was made from, and the measurements behind the choice.

The record is local data, so it carries an HMAC-SHA256 under this install's secret (the key of
the verified-models cache): a record written by anyone else is ignored. :func:`vouch_for` then
checks the derived file like any model file (size, sha256, GGUF header) and hands it to the
engine; a record whose source is not the installed file (reinstalled, another version) or whose
file fails its check is ignored and the shipped file is used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from edgemed.catalog.checks import _secret
from edgemed.catalog.manifest import Artifact, ArtifactFile
from edgemed.files import write_atomic

RECORD_NAME = "derived.json"
DERIVED_FOLDER = "derived"
_log = logging.getLogger("edgemed.catalog.derived")


@dataclass(frozen=True)
class DerivedFormat:
    """The file the app loads instead of the shipped one, and why."""

    quant: str
    path: str  # relative to the model's folder, "/"-separated, under derived/
    sha256: str
    size: int
    source_sha256: str  # the shipped file it was made from
    metrics: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "quant": self.quant,
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "source_sha256": self.source_sha256,
            "metrics": dict(sorted(self.metrics.items())),
        }


def _mac(secret: bytes, body: dict[str, object]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(secret, b"derived-format\n" + canonical, hashlib.sha256).hexdigest()


def write_choice(directory: Path, chosen: DerivedFormat | None) -> None:
    """Record ``chosen`` for the model in ``directory``; None removes the record (shipped file)."""
    record = Path(directory) / RECORD_NAME
    if chosen is None:
        record.unlink(missing_ok=True)
        return
    secret = _secret(create=True)
    if secret is None:
        raise OSError(f"no private key to sign {record} with (see the data folder's permissions)")
    body = chosen.as_json()
    write_atomic(record, json.dumps({**body, "mac": _mac(secret, body)}, indent=1))


def read_choice(directory: Path, shipped: Artifact) -> DerivedFormat | None:
    """The derived format recorded for ``shipped`` in ``directory``, if the record is ours."""
    record = Path(directory) / RECORD_NAME
    if not record.is_file():
        return None
    try:
        raw = json.loads(record.read_text(encoding="utf-8"))
        body = {k: raw[k] for k in ("quant", "path", "sha256", "size", "source_sha256")}
        body["metrics"] = {str(k): float(v) for k, v in dict(raw.get("metrics", {})).items()}
        chosen = DerivedFormat(
            str(body["quant"]),
            str(body["path"]),
            str(body["sha256"]),
            int(str(body["size"])),
            str(body["source_sha256"]),
            dict(body["metrics"]),
        )
        mac = str(raw["mac"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        _log.warning("%s is unreadable: the shipped file is used", record)
        return None
    secret = _secret(create=False)
    if secret is None or not hmac.compare_digest(mac, _mac(secret, chosen.as_json())):
        _log.warning("%s is not signed by this install: the shipped file is used", record)
        return None
    relative = PurePosixPath(chosen.path)
    if relative.is_absolute() or ".." in relative.parts or relative.parts[:1] != (DERIVED_FOLDER,):
        return None
    if len(shipped.files) != 1 or shipped.files[0].sha256 != chosen.source_sha256:
        return None  # made from another file than the one installed now
    return chosen


def derived_artifact(shipped: Artifact, chosen: DerivedFormat) -> Artifact:
    """``shipped`` as the derived file: same id, family and template; its own file and quant."""
    return replace(
        shipped,
        files=(ArtifactFile(chosen.path, chosen.sha256, chosen.size),),
        quant=chosen.quant,
        metrics=dict(chosen.metrics),
    )
