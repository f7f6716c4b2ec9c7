"""The re-check (复核) as the organiser does it in the console: draw the sample from the version
page, mark entries correct or corrected, watch the error rate, close, publish."""
import random
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import (
    AuditLog,
    ComponentScore,
    RecheckItem,
    RecheckRound,
    ResultRow,
    ResultsVersion,
    Stage,
    StageEntry,
    Track,
)


@pytest.fixture
def version_id(app, db_session):
    """A draft version of the chemical preliminary, computed from stored scores."""
    from app.extensions import db
    from app.services import accounts, results

    with app.app_context():
        stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                     Stage.seq == 1))
        rng = random.Random(17)
        for component in stage.components:
            for place in db.session.scalars(sa.select(StageEntry).where(
                    StageEntry.stage_id == stage.id)):
                db.session.add(ComponentScore(component_id=component.id, stage_entry_id=place.id,
                                              points=Decimal(rng.randint(5000, 10000)) / 100))
        db.session.flush()
        version = results.create_version(stage, actor=accounts.get_by_username("organiser"))
        db.session.commit()
        return version.id


def test_the_organiser_re_checks_a_version_and_only_then_publishes(signed_in, version_id,
                                                                   db_session):
    organiser = signed_in("organiser")
    page = organiser.get(f"/admin/results/{version_id}").get_data(as_text=True)
    assert 'id="recheck"' in page and f"/admin/results/{version_id}/recheck" in page
    refused = organiser.post(f"/admin/results/{version_id}/publish", follow_redirects=True)
    assert "尚未复核" in refused.get_data(as_text=True)
    assert db_session.get(ResultsVersion, version_id).status.value == "draft"

    opened = organiser.post(f"/admin/results/{version_id}/recheck")
    assert opened.status_code == 302
    round_id = int(re.search(r"/admin/rechecks/(\d+)", opened.location).group(1))
    round_ = db_session.get(RecheckRound, round_id)
    items = db_session.scalars(sa.select(RecheckItem).where(RecheckItem.round_id == round_id)
                               .order_by(RecheckItem.id)).all()
    page = organiser.get(opened.location).get_data(as_text=True)
    assert round_.seed in page and page.count('name="item_id"') == len(items)
    first = db_session.get(StageEntry, items[0].stage_entry_id)
    assert first.entry.exam_number in page
    assert first.entry.contestant.name in page  # no judged component: names are not sealed
    assert "前10名" in page and "抽查" in page
    total = db_session.scalar(sa.select(ResultRow.total).where(
        ResultRow.version_id == version_id, ResultRow.stage_entry_id == items[0].stage_entry_id))
    assert f"<strong>{total.quantize(Decimal('0.01'))}</strong>" in page  # its published total

    # Corrected without saying what was wrong: refused next to the field.
    missing = organiser.post(f"/admin/rechecks/{round_id}/items/{items[0].id}",
                             {"outcome": "corrected", "note": ""})
    assert missing.status_code == 422
    assert f'id="note-{items[0].id}-error"' in missing.get_data(as_text=True)
    done = organiser.post(f"/admin/rechecks/{round_id}/items/{items[0].id}",
                          {"outcome": "corrected", "note": "学习积分少录5分"})
    assert done.status_code == 302
    page = organiser.get(f"/admin/rechecks/{round_id}").get_data(as_text=True)
    assert "学习积分少录5分" in page and 'id="recheck-verdict"' in page
    assert "差错率" in page

    refused = organiser.post(f"/admin/rechecks/{round_id}/close", follow_redirects=True)
    assert "尚待复核" in refused.get_data(as_text=True)
    organiser.post(f"/admin/rechecks/{round_id}/correct",
                   {"item_id": [str(i.id) for i in items[1:]]})
    closed = organiser.post(f"/admin/rechecks/{round_id}/close", follow_redirects=True)
    text = closed.get_data(as_text=True)
    n = len(items)
    assert f"复核{n}份，差错1份" in text and "无须全部复核" in text
    # A wrong score was recorded: this version is not published, a corrected one is.
    refused = organiser.post(f"/admin/results/{version_id}/publish", follow_redirects=True)
    assert "新版本" in refused.get_data(as_text=True)
    actions = db_session.scalars(sa.select(AuditLog.action).where(
        AuditLog.action.like("recheck.%")).order_by(AuditLog.id)).all()
    assert actions == ["recheck.open", "recheck.item", "recheck.items", "recheck.close"]


def test_too_many_errors_open_a_full_re_check(signed_in, version_id, db_session):
    organiser = signed_in("organiser")
    opened = organiser.post(f"/admin/results/{version_id}/recheck")
    round_id = int(re.search(r"/admin/rechecks/(\d+)", opened.location).group(1))
    items = db_session.scalars(sa.select(RecheckItem).where(RecheckItem.round_id == round_id)
                               .order_by(RecheckItem.id)).all()
    wrong = len(items) * 5 // 100 + 1
    for item in items[:wrong]:
        organiser.post(f"/admin/rechecks/{round_id}/items/{item.id}",
                       {"outcome": "corrected", "note": "总分合计错误"})
    organiser.post(f"/admin/rechecks/{round_id}/correct",
                   {"item_id": [str(i.id) for i in items[wrong:]]})
    closed = organiser.post(f"/admin/rechecks/{round_id}/close")
    full = db_session.scalar(sa.select(RecheckRound).where(RecheckRound.kind == "full"))
    assert full is not None and closed.location.endswith(f"/admin/rechecks/{full.id}")
    page = organiser.get(closed.location).get_data(as_text=True)
    assert "全部复核" in page
    everyone = db_session.scalar(sa.select(sa.func.count()).select_from(RecheckItem)
                                 .where(RecheckItem.round_id == full.id))
    assert everyone > len(items)
    pending = organiser.get(f"/admin/rechecks/{full.id}?show=pending").get_data(as_text=True)
    assert pending.count('name="item_id"') == min(100, everyone - len(items))
    refused = organiser.post(f"/admin/results/{version_id}/publish", follow_redirects=True)
    assert "复核尚未完成" in refused.get_data(as_text=True)


def test_names_stay_sealed_on_the_round_page_until_revealed(signed_in, version_id, db_session,
                                                           monkeypatch):
    from app.services import results

    monkeypatch.setattr(results, "names_revealed", lambda stage: False)
    organiser = signed_in("organiser")
    opened = organiser.post(f"/admin/results/{version_id}/recheck")
    page = organiser.get(opened.location).get_data(as_text=True)
    items = db_session.scalars(sa.select(RecheckItem)).all()
    names = [db_session.get(StageEntry, i.stage_entry_id).entry.contestant.name for i in items]
    assert not any(name in page for name in names)
    assert db_session.get(StageEntry, items[0].stage_entry_id).entry.exam_number in page


def test_a_mark_for_an_entry_of_another_round_is_not_found(signed_in, version_id, db_session):
    organiser = signed_in("organiser")
    opened = organiser.post(f"/admin/results/{version_id}/recheck")
    round_id = int(re.search(r"/admin/rechecks/(\d+)", opened.location).group(1))
    item = db_session.scalar(sa.select(RecheckItem).where(RecheckItem.round_id == round_id))
    assert organiser.post(f"/admin/rechecks/{round_id + 1}/items/{item.id}",
                          {"outcome": "correct"}).status_code == 404
    nothing = organiser.post(f"/admin/rechecks/{round_id}/correct", {}, follow_redirects=True)
    assert nothing.status_code == 200 and "alert-danger" in nothing.get_data(as_text=True)
