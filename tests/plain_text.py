"""What a Chinese reader must never see (issue 12, part 4): the leak finder the walk over every
page and export uses. Plain functions on text, so they are tested on planted leaks too."""
from __future__ import annotations

import re
from html.parser import HTMLParser

# English a reader of the Chinese UI may meet, each for a reason:
ALLOWED_WORDS = {
    # file formats and things named so in Chinese offices; extensions of uploaded file names
    "Excel", "QR", "ID", "A4", "PDF", "xlsx", "xls", "csv",
    # the published draw rule names its hash; the standard score is called z分数 in Chinese
    "SHA", "z",
    # the organisers' API page and its tokens: the protocol's own names
    "API", "JSON", "HTTP", "Authorization", "Bearer", "OpenAPI", "Token", "POST",
    # how unions name their mobile app (江苏工会APP), as in the files they upload
    "APP",
    # the language switch names each language in itself
    "English",
    # the product's e-mail addresses and units in measured figures
    "ms", "MB",
}

ALLOWED_PATTERNS = [
    # demo account names are what people type to sign in (data, not codes)
    re.compile(r"^(organiser|chief|arbiter|contact|contestant|judge\d+)$"),
    # a single capital: exam options (A–D), formula letters (前N名), marking item labels (A, B3)
    # and workstation labels (J119) as printed on the floor
    re.compile(r"^[A-Z]{1,2}\d*$"),
    # answers of a multiple-choice question (ABD) and a masked telephone number (8xxxxxxx)
    re.compile(r"^[A-H]{2,8}$"), re.compile(r"^\d+x+$"),
]
# Cut out before looking for words: ID numbers (masked or not, ending in X), web paths of the
# organisers' API page, and the placeholders of the exam-number pattern organisers type.
_CUT = re.compile(r"[0-9*]{14,17}[0-9Xx]|/api/v1/\S*|\{[a-z_]+(?::[0-9a-z]+)?\}")

_SNAKE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")
_DOTTED = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+\b")
_MODEL_ID = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*[ \t]+#?\d+\b")
_E_NOTATION = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d")
_JSON = re.compile(r'\{\s*"|\[\s*\{|"\s*:\s*["\d\[{]')
_WORD = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*")
_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")
_LATIN_RUN = re.compile(r"[A-Za-z0-9_.:/@#+\-]+")
_HEX = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{12,}")


class _VisibleText(HTMLParser):
    """The text a reader sees: no tags, no attributes, no <script>/<style>/<template>."""

    HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in {"br", "p", "div", "td", "th", "li", "tr", "option", "h1", "h2", "h3", "h4",
                     "h5", "title", "span", "a", "button", "label", "dt", "dd"}:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1
        else:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def _allowed_word(word: str, also: frozenset[str] = frozenset()) -> bool:
    return word in ALLOWED_WORDS or word in also or any(p.match(word) for p in ALLOWED_PATTERNS)


def leaks(text: str, *, decimals: int, also: frozenset[str] = frozenset()) -> list[str]:
    """Every leak in ``text``, each as a short snippet with its kind: an identifier
    (snake_case, dotted.code, ``Model 12``), E notation, raw JSON, an English word not in the
    allow-list (or in ``also``, words the reader typed), a long hexadecimal fingerprint, or a
    number with more than ``decimals`` decimals."""
    found: list[str] = []

    def snippet(match: re.Match, kind: str) -> None:
        start, end = max(match.start() - 20, 0), min(match.end() + 20, len(text))
        context = " ".join(text[start:end].split())
        found.append(f"{kind}: {match.group(0)!r} in «{context}»")

    for match in _SNAKE.finditer(_CUT.sub(" ", text)):
        snippet(match, "identifier")
    for match in _DOTTED.finditer(_CUT.sub(" ", text)):
        snippet(match, "dotted code")
    for match in _MODEL_ID.finditer(text):
        if not _allowed_word(match.group(0).split()[0]):
            snippet(match, "model and id")
    for match in _E_NOTATION.finditer(text):
        snippet(match, "E notation")
    for match in _JSON.finditer(text):
        snippet(match, "JSON")
    for match in _HEX.finditer(text):
        snippet(match, "fingerprint")
    for match in _DECIMAL.finditer(text):
        if len(match.group(2)) > decimals:
            snippet(match, f"more than {decimals} decimals")
    words_text = _CUT.sub(lambda m: " " * len(m.group(0)), text)
    for run in _LATIN_RUN.finditer(words_text):
        if "@" in run.group(0) or "://" in run.group(0):
            continue  # an e-mail address or a web address is data, read as it is written
        for word in _WORD.finditer(run.group(0)):
            if not _allowed_word(word.group(0), also):
                start = run.start() + word.start()
                snippet(re.compile(re.escape(word.group(0))).search(text, start), "English")
    return sorted(set(found))


def cell_leaks(value, *, decimals: int, also: frozenset[str] = frozenset()) -> list[str]:
    """Leaks in one spreadsheet cell: text as on a page; a number with more decimals than
    published; a float that is not what it shows."""
    if isinstance(value, str):
        return leaks(value, decimals=decimals, also=also)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return [f"not a number: {value!r}"]
        if round(value, decimals) != value:
            return [f"more than {decimals} decimals: {value!r}"]
    return []
