"""JSON that matches a schema, for engines without a grammar sampler (onnxruntime).

The JSON skeleton is written by us; the model only chooses each value among the values the
schema allows, by log-probability. Nothing it could say can leave the schema. Free text and
numbers have no finite choice list, so such schemas are refused here (llama.cpp's grammar
handles them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from edgemed.i18n import _
from edgemed.inference.engine import EngineError

Scorer = Callable[[str, Sequence[str]], dict[str, float]]


def _choices(schema: dict[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    if schema.get("type") == "boolean":
        return [True, False]
    if schema.get("type") == "null":
        return [None]
    return None


def _fill(score: Scorer, schema: dict[str, Any], prefix: str) -> tuple[Any, str]:
    if schema.get("type") == "object":
        value: dict[str, Any] = {}
        text = prefix + "{"
        properties: dict[str, Any] = schema.get("properties", {})
        for index, (name, sub_schema) in enumerate(properties.items()):
            text += ("" if index == 0 else ", ") + json.dumps(name) + ": "
            value[name], text = _fill(score, sub_schema, text)
        return value, text + "}"
    options = _choices(schema)
    if options is None:
        raise EngineError(
            _("This engine fills only yes/no, enum and object fields; {schema} needs GGUF.").format(
                schema=json.dumps(schema)
            )
        )
    rendered = [json.dumps(o, ensure_ascii=False) for o in options]
    scores = score(prefix, rendered)
    best = max(range(len(options)), key=lambda i: scores[rendered[i]])
    return options[best], prefix + rendered[best]


def fill_schema(score: Scorer, schema: dict[str, Any]) -> dict[str, Any]:
    """Fill ``schema`` (an object) choosing each value by ``score(prefix, candidates)``."""
    if schema.get("type") != "object":
        raise EngineError(_("A JSON answer must be an object."))
    value, _text = _fill(score, schema, "")
    assert isinstance(value, dict)
    return value
