"""The organiser's results page reads one page of a version in SQL, and the differences from the
previous version a few contestants at a time: the pages together are the whole version, in
rank order (ties by entry, unranked last), and the difference pages are the whole difference."""
import random
import re
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from app.models import (
    Component,
    ComponentScore,
    Entry,
    ResultsVersion,
    Stage,
    StageEntry,
    Track,
)


@pytest.fixture
def versions(app, db_session):
    """The chemical preliminary scored (a few entries unranked), version 1 published, some
    theory scores corrected, version 2 computed: returns the two versions' ids."""
    from app.extensions import db
    from app.services import accounts, results

    with app.app_context():
        stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                     Stage.seq == 1))
        stage.recheck_top, stage.recheck_fraction = 0, Decimal("0")  # no re-check asked for
        rng = random.Random(3)
        places = db.session.scalars(sa.select(StageEntry).where(
            StageEntry.stage_id == stage.id).order_by(StageEntry.id)).all()
        for place in places[::15]:
            place.entry.unranked = True
        for component in stage.components:
            for place in places:
                db.session.add(ComponentScore(
                    component_id=component.id, stage_entry_id=place.id,
                    points=Decimal(rng.choice([8000, 9000, rng.randint(5000, 10000)])) / 100))
        db.session.flush()
        organiser = accounts.get_by_username("organiser")
        first = results.create_version(stage, actor=organiser)
        results.publish(first, actor=organiser)
        theory = db.session.scalars(sa.select(ComponentScore).join(Component).where(
            Component.stage_id == stage.id, Component.code == "theory")
            .order_by(ComponentScore.id)).all()
        for score in theory[::9]:
            score.points = min(Decimal("100"), score.points + Decimal("4.25"))
        second = results.create_version(stage, actor=organiser, reason="更正")
        db.session.commit()
        return first.id, second.id


def cells(page: str, table_id: str) -> list[list[str]]:
    body = page.split(f'id="{table_id}"')[1].split("</table>")[0].split("<tbody>")[1]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(
        r"<td>(.*?)</td>", row, re.S)] for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_pages_together_are_the_version_in_rank_order(signed_in, versions, app):
    from app.admin.results import PAGE_SIZE
    from app.extensions import db
    from app.services import results

    _first, second = versions
    organiser = signed_in("organiser")
    with app.app_context():
        table = results.version_table(db.session.get(ResultsVersion, second))
        exam = dict(db.session.execute(sa.select(StageEntry.id, Entry.exam_number).join(Entry)).all())
    assert len(table) > PAGE_SIZE  # more than one page
    expected = [["—" if pd.isna(rank) else str(rank), exam[entry_id]]
                for rank, entry_id in zip(table["rank"], table["entry_id"], strict=True)]
    shown, n = [], 1
    while True:
        page = organiser.get(f"/admin/results/{second}?page={n}")
        assert page.status_code == 200
        rows = cells(page.get_data(as_text=True), "results-table")
        if not rows:
            break
        assert len(rows) == min(PAGE_SIZE, len(table) - (n - 1) * PAGE_SIZE)
        shown += [row[:2] for row in rows]
        n += 1
    assert shown == expected and n - 1 == -(-len(table) // PAGE_SIZE)
    ranks = [int(r) for r, _exam in shown if r != "—"]
    assert ranks == sorted(ranks) and shown[-1][0] == "—"  # unranked entries come last
    assert "nan" not in organiser.get(f"/admin/results/{second}").get_data(as_text=True)


def test_the_differences_come_a_few_contestants_at_a_time(signed_in, versions, app,
                                                          monkeypatch):
    from app.admin import results as pages
    from app.extensions import db
    from app.services import results

    monkeypatch.setattr(pages, "CHANGES_PAGE_SIZE", 4)
    first, second = versions
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        version = db.session.get(ResultsVersion, second)
        raw = results.differences(version)
        expected = [[line.who, line.field, line.before, line.after]
                    for line in results.differences_in_words(
                        version, raw, reveal=results.names_revealed(version.stage))]
        db.session.remove()
    # in words: people by workstation or exam number, fields by name, published decimals
    assert {d.field for d in raw} >= {"total"} and {line[1] for line in expected} >= {"总分"}
    assert not any("_" in line[1] or line[0] == str(d.entry_id)
                   for line, d in zip(expected, raw, strict=True))
    assert all(re.fullmatch(r"—|\d+|\d+\.\d{2}%?|[^\d].*", line[2]) for line in expected)
    contestants = len({line[0] for line in expected})
    assert contestants > 8  # several pages of differences
    organiser = signed_in("organiser")
    url, shown, pages_seen = f"/admin/results/{second}?page=2", [], 0
    while url:
        page = organiser.get(url).get_data(as_text=True)
        lines = cells(page, "changes")
        assert len({line[0] for line in lines}) <= 4
        shown += lines
        pages_seen += 1
        more = re.search(r'id="more-changes" href="([^"]+)"', page)
        url = more.group(1).replace("&amp;", "&").split("#")[0] if more else None
        if url:
            assert "page=2" in url  # the results page stays where it was
    assert shown == expected and pages_seen == -(-contestants // 4)
    # In the contest's words: exam numbers and Chinese field names, numbers at 2 decimals.
    for who, what, before, after in shown:
        assert re.fullmatch(r"\d{10}( \S+)?", who) and not re.search(r"[a-z_]", what)
        for value in (before, after):
            assert re.fullmatch(r"—|\d+|-?\d+\.\d{2}%?|[^\x00-\x7f]+", value), value
    assert "id=\"changes\"" not in organiser.get(f"/admin/results/{first}").get_data(
        as_text=True)  # the first version has nothing to compare with
