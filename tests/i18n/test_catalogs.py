"""The shipped translations: complete, not fuzzy, placeholders intact, covering today's source.

`make i18n` extracts the messages (locales/babel.cfg: the nurse's app, the application layer, the
interview, the errors the app shows, and the protocol texts through edgemed's own extractors),
updates the catalogs and compiles them. A message added to the code without a translation in
every shipped language fails here.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from edgemed.i18n import locales_dir

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("fr", "pt", "es", "sw", "ar")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _catalog(language: str) -> Catalog:
    with open(locales_dir() / language / "LC_MESSAGES" / "edgemed.po", "rb") as handle:
        return read_po(handle)


def _source_messages() -> set[str]:
    """What `make i18n` would extract from the code as it is now."""
    with open(ROOT / "locales" / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / "edgemed", method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def source_messages() -> set[str]:
    return _source_messages()


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    catalog = _catalog(language)
    assert not catalog.fuzzy, f"{language}: the catalog header is marked fuzzy"
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, f"{language}: untranslated: {untranslated}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"


@pytest.mark.parametrize("language", SHIPPED)
def test_placeholders_survive_translation(language: str) -> None:
    broken = []
    for message in _catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = _fields(ids[-1]) | _fields(ids[0])
        for text in strings:
            try:
                got = _fields(text)
            except ValueError as error:  # an unbalanced brace
                broken.append((message.id, text, str(error)))
                continue
            if got != wanted and not (len(ids) > 1 and got <= wanted):
                broken.append((message.id, text, f"{sorted(got)} != {sorted(wanted)}"))
            if text.count("%") != ids[0].count("%") and "%%" in ids[0]:
                broken.append((message.id, text, "an escaped % was lost"))
    assert not broken, f"{language}: broken placeholders: {broken}"


@pytest.mark.parametrize("language", SHIPPED)
def test_the_catalogs_cover_the_source(language: str, source_messages: set[str]) -> None:
    catalog_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(language) if m.id}
    missing = sorted(source_messages - catalog_ids)
    assert not missing, (
        f"{language}: {len(missing)} message(s) in the code are not in the catalog; run "
        f"`make i18n` and translate them: {missing[:20]}"
    )


@pytest.mark.parametrize("language", SHIPPED)
def test_each_catalog_states_its_review_status(language: str) -> None:
    po = (locales_dir() / language / "LC_MESSAGES" / "edgemed.po").read_text(encoding="utf-8")
    header = po.split('msgid ""')[0]
    assert re.search(r"^# X-Edgemed-Review: (drafted|clinically reviewed)$", header, re.M)


def test_protocol_texts_are_in_the_catalogs(source_messages: set[str]) -> None:
    from edgemed.protocol import available_protocols, load_protocol

    for protocol_id in available_protocols():
        protocol = load_protocol(protocol_id)
        for finding in protocol.findings.values():
            for text in (finding.label, finding.question):
                assert text.replace("%", "%%") in source_messages, (protocol_id, text)
        for rule in protocol.rules:
            assert rule.text.replace("%", "%%") in source_messages, (protocol_id, rule.id)
