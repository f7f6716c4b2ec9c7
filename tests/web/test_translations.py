"""The Chinese catalogue covers every user-facing string in the code and templates."""
import io
import re

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import ROOT

METHOD_MAP = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def _scanned(directory: str) -> bool:
    """Babel skips folders whose names start with "_" by default; templates/_macros holds
    strings too."""
    import os

    name = os.path.basename(directory)
    return not (name.startswith(".") or name == "__pycache__")


def _catalogue():
    with (ROOT / "translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        return read_po(io.BytesIO(f.read()), locale="zh")


def test_every_string_in_the_code_has_a_chinese_translation():
    catalogue = _catalogue()
    missing = []
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), METHOD_MAP, keywords=KEYWORDS, directory_filter=_scanned):
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalogue.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(msgid)
    assert not missing, "add these to translations/zh (make translations-update):\n" + "\n".join(
        sorted(set(missing)))


def test_translations_keep_their_placeholders():
    for message in _catalogue():
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), \
                message.id
