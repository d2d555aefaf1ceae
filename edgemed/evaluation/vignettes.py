"""Reading evaluation files: one vignette per JSON line, checked with messages a reader can act on.

A line needs the text and a reference label; it may carry the locale, the patient, the vitals
and the annotated findings (``findings`` present, ``absent`` denied, each ``{"id", "evidence"}``).
An annotation file (same shape, matched by ``id``) can add those to a file that has none, which
is how the published Semigran file is evaluated without copying it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgemed.errors import InputError
from edgemed.i18n import _

LABEL_KEYS = ("reference_triage", "label")


@dataclass(frozen=True)
class Vignette:
    id: str
    text: str
    label: str
    locale: str
    line: int
    patient: Mapping[str, Any] = field(default_factory=dict)
    vitals: Mapping[str, Any] = field(default_factory=dict)
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    annotated: bool = False


def _ids(raw: object, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(_("{where} must be a list.").format(where=where))
    ids = []
    for item in raw:
        fid = item.get("id") if isinstance(item, dict) else item
        if not isinstance(fid, str):
            raise InputError(_("{where}: every finding needs a string id.").format(where=where))
        ids.append(fid)
    return tuple(dict.fromkeys(ids))


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        raw_lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(_("{file} is not UTF-8 text.").format(file=path.name)) from None
    except OSError as error:
        raise InputError(
            _("Cannot read {file}: {error}").format(file=path, error=error.strerror)
        ) from None
    records = []
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InputError(
                _("{file}, line {line}: not valid JSON ({error}).").format(
                    file=path.name, line=number, error=error.msg
                ),
                hint=_("Each line must be one JSON object, e.g. {example}").format(
                    example='{"id": "v1", "text": "...", "label": "em"}'
                ),
            ) from None
        if not isinstance(record, dict):
            raise InputError(
                _("{file}, line {line}: expected a JSON object.").format(
                    file=path.name, line=number
                )
            )
        records.append((number, record))
    return records


def read_vignettes(
    path: Path,
    labels: Sequence[str],
    text_field: str = "text",
    locale: str = "en",
    annotations: Path | None = None,
) -> list[Vignette]:
    """Every vignette in ``path``; each label must be one of ``labels``."""
    extra: dict[str, dict[str, Any]] = {}
    if annotations is not None:
        extra = {str(r.get("id")): r for _n, r in _records(annotations)}
    vignettes = []
    for number, record in _records(path):
        where = _("{file}, line {line}").format(file=path.name, line=number)
        vid = str(record.get("id", f"line-{number}"))
        text = record.get(text_field)
        if not isinstance(text, str) or not text.strip():
            raise InputError(
                _("{where}: no text in the field {field}.").format(where=where, field=text_field)
            )
        label = next((record[k] for k in LABEL_KEYS if k in record), None)
        if label not in labels:
            raise InputError(
                _("{where}: unknown label {label!r}; this mapping's labels are {labels}.").format(
                    where=where, label=label, labels=", ".join(labels)
                ),
                hint=_("Use --map to declare how categories map onto the file's labels."),
            )
        merged = {**record, **extra.get(vid, {})}
        annotated = "findings" in merged
        vignettes.append(
            Vignette(
                id=vid,
                text=text,
                label=str(label),
                locale=str(record.get("locale", locale)),
                line=number,
                patient=merged.get("patient") or {},
                vitals=merged.get("vitals") or {},
                present=_ids(merged.get("findings"), where),
                absent=_ids(merged.get("absent"), where),
                annotated=annotated,
            )
        )
    if not vignettes:
        raise InputError(
            _("{file} has no vignettes: it is empty.").format(file=path.name),
            hint=_("Each line must be one JSON object with a text and a label."),
        )
    return vignettes
