"""Turning what a nurse types into a safe full-text query."""

from __future__ import annotations

import re


def fts_query(text: str) -> str:
    """Each word becomes a quoted prefix term, so punctuation can never break the FTS syntax."""
    words = re.findall(r"\w+", text, flags=re.UNICODE)
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words) or '""'
