"""Reading pages as a browser does: the links on a page and its POST forms with the values a
browser would send, so a test can walk the whole site and post every form."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

# Inputs a person types into (a browser sends them as typed); the rest are chosen or ticked.
TYPED = {"text", "search", "email", "tel", "url", "number", "date", "datetime-local", "time",
         "hidden", "textarea"}
NUMERIC_MODES = {"decimal", "numeric"}


@dataclass
class FormField:
    name: str
    kind: str  # an input type, "textarea" or "select"
    value: str
    numeric: bool = False  # a number input, or a text input asking for a number keyboard


@dataclass
class PageForm:
    page: str
    action: str
    fields: list[FormField] = field(default_factory=list)
    has_file: bool = False

    def data(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for f in self.fields:
            values.setdefault(f.name, []).append(f.value)
        return values


class _Reader(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.links: list[str] = []
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: FormField | None = None
        self._select_first: str | None = None
        self._textarea: FormField | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.page, a["href"]))
        elif tag == "form":
            method = a.get("method", "get").lower()
            self._form = PageForm(self.page, urljoin(self.page, a.get("action") or self.page)) \
                if method == "post" else None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_first is None and value:
                self._select_first = value
            if "selected" in a:
                self._select.value = value
        elif self._form is None or not a.get("name") or "disabled" in a:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "file":
                self._form.has_file = True
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.fields.append(FormField(a["name"], kind, a.get("value", "on")))
            elif kind not in ("submit", "button", "reset", "image", "password"):
                self._form.fields.append(FormField(
                    a["name"], kind, a.get("value", ""),
                    numeric=kind == "number" or a.get("inputmode") in NUMERIC_MODES))
        elif tag == "textarea":
            self._textarea = FormField(a["name"], "textarea", "")
            self._form.fields.append(self._textarea)
        elif tag == "select":
            self._select = FormField(a["name"], "select", "")
            self._select_first = None
            self._form.fields.append(self._select)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None:
            if not self._select.value:
                self._select.value = self._select_first or ""
            self._select = None


def read_page(url: str, html: str) -> tuple[list[str], list[PageForm]]:
    """The same-site links (path and query, no fragment) and the POST forms of a page."""
    reader = _Reader(url)
    reader.feed(html)
    links = []
    for link in reader.links:
        parts = urlsplit(link)
        if parts.scheme in ("", "http", "https") and parts.netloc in ("", "localhost"):
            links.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    for form in reader.forms:
        parts = urlsplit(form.action)
        form.action = parts.path + (f"?{parts.query}" if parts.query else "")
    return links, reader.forms
