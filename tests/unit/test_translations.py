"""Every customer-facing string is translated into Spanish and French, and the compiled
catalogs the app loads are those translations.

The strings are extracted from the sources as ``pybabel extract`` does (babel.cfg),
so a new ``_("...")`` without a translation fails here, not in front of a customer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from portal.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "portal" / "translations"
METHODS = [("portal/**.py", "python"), ("templates/**.html", "jinja2"),
           ("templates/**.txt", "jinja2")]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def _source_messages() -> set[tuple[str, str | None]]:
    """Every (msgid, context) the sources ask to translate."""
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(PROJECT_ROOT), METHODS, keywords=KEYWORDS):
        found.add((message if isinstance(message, str) else message[0], context))
    return found


@pytest.fixture(scope="module")
def source_messages():
    return _source_messages()


def _catalog(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", ["es", "fr"])
def test_every_message_is_translated(source_messages, language):
    catalog = _catalog(language)
    missing = []
    for msgid, context in source_messages:
        entry = catalog.get(msgid, context=context)
        strings = [] if entry is None else (
            list(entry.string) if isinstance(entry.string, tuple) else [entry.string])
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(msgid)
    assert not missing, f"{len(missing)} untranslated in {language}: {sorted(missing)[:10]}"


@pytest.mark.parametrize("language", ["es", "fr"])
def test_translations_keep_every_placeholder(language):
    wrong = []
    for entry in _catalog(language):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            # A singular may say "one" instead of %(num)d; nothing else may be dropped.
            if set(PLACEHOLDER.findall(text)) - wanted or \
                    (wanted - {"%(num)d"}) - set(PLACEHOLDER.findall(text)):
                wrong.append((ids[0], text))
    assert not wrong, wrong[:5]


def _key(value):
    """Plural ids and strings come as lists from a .mo, tuples from a .po."""
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.mark.parametrize("language", ["es", "fr"])
def test_compiled_catalog_matches_the_translations(language):
    """The .mo the app loads is compiled from the .po (run ``pybabel compile -d
    portal/translations`` after editing a translation)."""
    catalog = _catalog(language)
    with Path(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
        compiled = read_mo(mo)
    # Keyed by context too: "Open" of an invoice and "Open" of a dispute differ.
    expected = {(entry.context, _key(entry.id)): _key(entry.string) for entry in catalog
                if entry.id and not entry.fuzzy}
    actual = {(entry.context, _key(entry.id)): _key(entry.string) for entry in compiled
              if entry.id}
    assert actual == expected
