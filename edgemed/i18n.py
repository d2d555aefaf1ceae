"""gettext over ``locales/``: every user-facing string goes through ``_``.

The language comes from ``EDGEMED_LANG``, then the usual ``LANGUAGE``/``LC_ALL``/``LANG``, and
can be switched at runtime with :func:`set_language` (the TUI does so without a restart).
Compiled catalogs (``.mo``) are built by ``make i18n`` / the install, never committed.
"""

from __future__ import annotations

import gettext
import os
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


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message whose form depends on ``n``."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (translated where shown)."""
    return message


set_language(_language_from_environment())
