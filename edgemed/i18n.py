"""gettext over ``locales/``: every user-facing string goes through ``_``.

The language comes from ``EDGEMED_LANG``, then the usual ``LANGUAGE``/``LC_ALL``/``LANG``, and
can be switched at runtime with :func:`set_language` (the TUI does so without a restart).
Compiled catalogs (``.mo``) are built by ``make i18n`` / the install, never committed.
"""

from __future__ import annotations

import gettext
import os
from datetime import datetime
from pathlib import Path

DOMAIN = "edgemed"
SOURCE_LANGUAGE = "en"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = SOURCE_LANGUAGE


def locales_dir() -> Path:
    """Where the catalogs are: ``EDGEMED_LOCALES``, else ``locales/`` beside the package."""
    override = os.environ.get("EDGEMED_LOCALES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "locales"


def available_languages() -> list[str]:
    """The source language plus every language with a compiled catalog."""
    found = {SOURCE_LANGUAGE}
    root = locales_dir()
    if root.is_dir():
        for mo in root.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"):
            found.add(mo.parent.parent.name)
    return sorted(found)


def _language_from_environment() -> str:
    for var in ("EDGEMED_LANG", "LANGUAGE", "LC_ALL", "LANG"):
        value = os.environ.get(var, "")
        if value and value not in ("C", "POSIX"):
            return value.split(":")[0].split(".")[0]
    return SOURCE_LANGUAGE


def set_language(language: str) -> str:
    """Switch every later ``_`` call to ``language``; returns the language actually in use.

    An unknown language falls back to the source language (English) rather than failing: a nurse
    must always get a working screen.
    """
    global _translation, _language
    candidates = [language]
    if "_" in language:
        candidates.append(language.split("_")[0])
    try:
        _translation = gettext.translation(DOMAIN, localedir=locales_dir(), languages=candidates)
        _language = language.split("_")[0]
    except OSError:
        _translation = gettext.NullTranslations()
        _language = SOURCE_LANGUAGE
    return _language


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate ``message`` into the current language."""
    return _translation.gettext(message)


def protocol_text(message: str) -> str:
    """Translate a text from a protocol data file (a finding label, a rule, a question).

    Their catalog entries escape ``%`` as ``%%`` (see :func:`extract_protocol`): a label such as
    "Burn over 20% of the body" would otherwise look like a printf placeholder to gettext's
    tools and fail their checks in every language.
    """
    if "%" not in message:
        return _translation.gettext(message)
    return _translation.gettext(message.replace("%", "%%")).replace("%%", "%")


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message whose form depends on ``n``."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (translated where shown)."""
    return message


RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
# The catalog header field that says whether a translation was clinically reviewed.
REVIEW_FIELD = "X-Edgemed-Review"


def is_rtl(language: str | None = None) -> bool:
    return (language or _language) in RTL_LANGUAGES


def terminal_reorders() -> bool:
    """Whether the terminal lays out right-to-left text itself (``EDGEMED_BIDI=terminal``)."""
    return os.environ.get("EDGEMED_BIDI", "") == "terminal"


def display(text: str) -> str:
    """``text`` as a terminal that does not lay out Arabic should print it, one line at a time.

    Letters are joined (shaped) and each line put into visual order; left-to-right languages,
    and terminals that do this themselves, get the text unchanged.
    """
    if not is_rtl() or terminal_reorders() or not text:
        return text
    import arabic_reshaper
    from bidi import get_display

    return "\n".join(str(get_display(arabic_reshaper.reshape(line))) for line in text.split("\n"))


def language_name(language: str) -> str:
    """The language's own name for itself (``Français``, ``Kiswahili``, ``العربية``)."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(language).get_display_name(language)
    except (ValueError, UnknownLocaleError):
        return language
    return str(name[:1].upper() + name[1:]) if name else language


def review_status(language: str) -> str:
    """``drafted`` or ``clinically reviewed``: what the catalog's header says about its review.

    The status is a header comment (``# X-Edgemed-Review: ...``): gettext header fields of our
    own would be dropped by ``pybabel update``, comments are kept.
    """
    if language == SOURCE_LANGUAGE:
        return "source"
    po = locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return "missing"
    for line in po.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if f"{REVIEW_FIELD}:" in line:
            return line.split(f"{REVIEW_FIELD}:", 1)[1].strip()
    return "drafted"


def format_time(moment: datetime, with_date: bool = False) -> str:
    """A time (and date) in the current language's style, in the clinic's local time zone."""
    from babel.dates import format_datetime

    local = moment.astimezone()
    pattern = "short" if with_date else "HH:mm"
    try:
        return str(format_datetime(local, pattern, locale=_language))
    except ValueError:
        return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def format_number(value: float) -> str:
    """A number in the current language's style (decimal comma in French, and so on)."""
    from babel.numbers import format_decimal

    try:
        return str(format_decimal(value, format="#,##0.##", locale=_language))
    except ValueError:
        return f"{value:g}"


set_language(_language_from_environment())


# ---- Extraction of the protocol texts (locales/babel.cfg registers them for `make i18n`) -------

_PROTOCOL_TEXT_KEYS = {
    # Descriptions are for the understanding module's matching, not shown: not translated.
    "finding": ("label", "question"),
    "rule": ("text",),
    "level": ("word",),
}

Extracted = tuple[int, str, str, list[str]]


def _line_of(text: str, value: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if value in line:
            return number
    return 0


def extract_protocol(
    fileobj: object, keywords: object, comment_tags: object, options: object
) -> list[Extracted]:
    """Babel extractor for ``protocol/data/*.toml``: finding labels and questions, rule texts,
    level words, score and parameter names become catalog entries."""
    import tomllib

    raw = fileobj.read()  # type: ignore[attr-defined]
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    data = tomllib.loads(text)
    found: list[tuple[str, str]] = []
    for table, keys in _PROTOCOL_TEXT_KEYS.items():
        for entry in data.get(table, []):
            where = f"{table} {entry.get('id', '')}"
            found += [(entry[key], where) for key in keys if entry.get(key)]
    score = data.get("score")
    if score:
        found.append((score["name"], "score"))
        parameters = score.get("parameter", [])
        found += [(p["label"], "score parameter") for p in parameters if p.get("label")]
    return [
        (_line_of(text, message), "_", message.replace("%", "%%"), [where])
        for message, where in found
    ]


def extract_notes(
    fileobj: object, keywords: object, comment_tags: object, options: object
) -> list[Extracted]:
    """Babel extractor for the protocol's fixed notes (``*_NOTE = "..."`` in a Python module):
    the protocol package is pure and cannot call ``_`` itself, the app translates them."""
    import ast

    raw = fileobj.read()  # type: ignore[attr-defined]
    tree = ast.parse(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
    found: list[Extracted] = []
    for node in tree.body:
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Constant):
            continue
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if any(name.endswith("_NOTE") for name in names) and isinstance(node.value.value, str):
            found.append((node.lineno, "_", node.value.value.replace("%", "%%"), [names[0]]))
    return found
