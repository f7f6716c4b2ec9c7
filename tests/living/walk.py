"""The walk over every page and export the living demo can reach, as one signed-in role (issue 12,
part 4): follow the links from the role's home page and try the application's own routes with
the demo's ids filled in; read every page's visible text, every .xlsx cell and every download's
file name, and collect each leak with the URL it was seen on."""
from __future__ import annotations

import io
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import openpyxl
import sqlalchemy as sa

from tests.plain_text import cell_leaks, leaks, visible_text

# Pages reached by many links of the same shape (1,415 entries) are sampled: the first few of each
# shape (digits replaced) that open show what every one of them shows, the template being the
# same. Refused ones (another judge's component) do not use up the shape's turns.
PER_SHAPE = 3
MAX_REQUESTS = 2000
# Not pages for people: the JSON API (English keys by design, its messages are checked by the API
# tests), static files, sign-out and the language switch (which would leave Chinese).
SKIPPED_PREFIXES = ("/api/", "/static/", "/bootstrap/", "/logout", "/lang/", "/healthz")
_HREF = re.compile(r"""<a\b[^>]*\bhref\s*=\s*["']([^"'#][^"']*)["']""", re.I)
_DIGITS = re.compile(r"\d+")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class WalkReport:
    role: str
    also: frozenset[str] = frozenset()
    pages: int = 0
    downloads: int = 0
    leaks: list[str] = field(default_factory=list)
    shapes: Counter = field(default_factory=Counter)

    def add(self, url: str, found: list[str]) -> None:
        self.leaks.extend(f"[{self.role}] {url} — {leak}" for leak in found)


def _shape(url: str) -> str:
    parts = urlsplit(url)
    return _DIGITS.sub("N", parts.path) + ("?" + _DIGITS.sub("N", parts.query) if parts.query else "")


def _ids(app, limit_entries: list[int]) -> dict[str, list[int]]:
    """The demo's ids by URL parameter name: every row of the small tables, a few of the big."""
    from app import models as m
    from app.extensions import db

    tables = {
        "contest_id": (m.Contest, None), "track_id": (m.Track, None), "stage_id": (m.Stage, None),
        "component_id": (m.Component, None), "list_id": (m.AdvancementList, None),
        "version_id": (m.ResultsVersion, None), "round_id": (m.RecheckRound, None),
        "batch_id": (m.ImportBatch, None), "sitting_id": (m.Sitting, 4),
        "ability_id": (m.Ability, 4), "user_id": (m.User, 3), "item_id": (m.MarkingItem, 3),
        "objection_id": (m.Objection, None), "appeal_id": (m.Appeal, None),
        "sheet_id": (m.ScoreSheet, 2),
    }
    with app.app_context():
        ids = {name: list(db.session.scalars(sa.select(model.id).order_by(model.id).limit(limit)))
               for name, (model, limit) in tables.items()}
    ids["entry_id"] = limit_entries
    return ids


def known_urls(app, ids: dict[str, list[int]], blueprints: tuple[str, ...]) -> list[str]:
    """The GET routes of ``blueprints`` whose parameters are all ids, each with the demo's ids."""
    from itertools import product

    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.endpoint.startswith(blueprints):
            continue
        names = sorted(rule.arguments)
        if any(name not in ids for name in names):
            continue  # reached by following links (workstations, chart names)
        choices = [ids[name] for name in names]
        for values in product(*choices):
            try:
                urls.append(rule.build(dict(zip(names, values, strict=True)))[1])
            except Exception:  # noqa: BLE001 - a rule that cannot be built with these is skipped
                continue
    return urls


def _disposition_name(header: str) -> tuple[str | None, str | None]:
    star = re.search(r"filename\*\s*=\s*UTF-8''([^;]+)", header, re.I)
    plain = re.search(r'filename\s*=\s*"?([^";]+)"?', header, re.I)
    return (unquote(star.group(1)) if star else None), (plain.group(1) if plain else None)


def check_download(report: WalkReport, url: str, response, decimals: int) -> None:
    header = response.headers.get("Content-Disposition", "")
    if header:
        star, plain = _disposition_name(header)
        if star is None:
            report.add(url, [f"file name without filename*: {header!r}"])
        else:
            stem = star.rsplit(".", 1)[0]
            report.add(url, [f"file name: {x}" for x in leaks(stem, decimals=decimals, also=report.also)])
        if plain is not None and not re.search(r"[A-Za-z0-9]", plain.rsplit(".", 1)[0]):
            report.add(url, [f"ASCII fallback file name says nothing: {plain!r}"])
    if response.mimetype == XLSX:
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True, data_only=True)
        for sheet in book.worksheets:
            report.add(url, [f"sheet name: {x}" for x in leaks(sheet.title, decimals=decimals, also=report.also)])
            for row_number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                for column, value in enumerate(row, start=1):
                    for leak in cell_leaks(value, decimals=decimals, also=report.also):
                        report.add(url, [f"{sheet.title}!R{row_number}C{column}: {leak}"])
        book.close()


def walk(app, visitor, role: str, *, start: list[str], decimals: int, extra: list[str] = (),
         also: frozenset[str] = frozenset()) -> WalkReport:
    """Visit ``start`` and ``extra`` and every in-app link they lead to, as ``visitor``;
    ``also``: words this role typed itself and may read back."""
    report = WalkReport(role, also)
    queue = deque(start + list(extra))
    seen: set[str] = set()
    requests = 0
    while queue and requests < MAX_REQUESTS:
        url = urldefrag(queue.popleft())[0]
        if url in seen or url.startswith(SKIPPED_PREFIXES):
            continue
        seen.add(url)
        shape = _shape(url)
        if report.shapes[shape] >= PER_SHAPE:  # only pages that opened count towards it
            continue
        requests += 1
        response = visitor.get(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        if response.status_code == 200:
            report.shapes[shape] += 1
        if response.status_code in (301, 302, 303):
            queue.append(urljoin(url, response.headers["Location"]))
            response.close()
            continue
        if response.status_code >= 500:
            report.add(url, [f"answer {response.status_code}"])
            response.close()
            continue
        if response.mimetype == "text/html":
            report.pages += 1
            html = response.get_data(as_text=True)
            report.add(url, leaks(visible_text(html), decimals=decimals, also=report.also))
            for href in _HREF.findall(html):
                target = urljoin(url, href.replace("&amp;", "&"))
                parts = urlsplit(target)
                if parts.netloc and parts.netloc != "localhost":
                    continue
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        elif response.headers.get("Content-Disposition") or response.mimetype == XLSX:
            report.downloads += 1
            check_download(report, url, response, decimals)
        response.close()  # a sent file is closed (and a temporary export deleted) with it
    return report
