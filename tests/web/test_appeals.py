"""Appeals (申诉) as the contestant, the arbitration group and the organisers see them: filed in
the window on the portal, ruled with a reason by the arbiter only, carried by a new version."""
import random
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import (
    Appeal,
    ComponentScore,
    ResultsVersion,
    Sitting,
    Stage,
    StageEntry,
    Track,
    utcnow,
)


@pytest.fixture
def prelim(app, db_session):
    """The chemical preliminary with every score stored, and the demo contestant (entry 1)
    seated in a sitting that ended 30 minutes ago: the 2-hour appeal window is open."""
    from app.extensions import db

    with app.app_context():
        stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                     Stage.seq == 1))
        sitting = Sitting(stage=stage, name="线上考试", ends_at=utcnow() - timedelta(minutes=30),
                          starts_at=utcnow() - timedelta(hours=2))
        db.session.add(sitting)
        db.session.flush()
        rng = random.Random(23)
        for place in db.session.scalars(sa.select(StageEntry).where(
                StageEntry.stage_id == stage.id)):
            if place.entry_id == 1:
                place.sitting_id = sitting.id
            for component in stage.components:
                db.session.add(ComponentScore(component_id=component.id, stage_entry_id=place.id,
                                              points=Decimal(rng.randint(5000, 10000)) / 100))
        db.session.commit()
        return {"stage": stage.id, "sitting": sitting.id,
                "theory": next(c.id for c in stage.components if c.code == "theory")}


def test_the_contestant_files_the_arbiter_rules_and_a_new_version_carries_it(
        signed_in, prelim, db_session):
    contestant = signed_in("contestant")
    page = contestant.get("/portal/entries/1").get_data(as_text=True)
    assert "/portal/entries/1/appeals" in page
    page = contestant.get("/portal/entries/1/appeals").get_data(as_text=True)
    assert 'id="appeal-form"' in page and f'value="{prelim["theory"]}"' in page
    empty = contestant.post("/portal/entries/1/appeals", {"component_id": prelim["theory"],
                                                          "text": ""})
    assert empty.status_code == 422 and 'id="text-error"' in empty.get_data(as_text=True)
    filed = contestant.post("/portal/entries/1/appeals", {
        "component_id": prelim["theory"], "text": "第12题标准答案有误"})
    assert filed.status_code == 302
    appeal = db_session.scalar(sa.select(Appeal))
    assert appeal.text == "第12题标准答案有误" and appeal.status.value == "open"
    mine = contestant.get("/portal/entries/1/appeals").get_data(as_text=True)
    assert "第12题标准答案有误" in mine and "待裁决" in mine
    contestant.logout()

    arbiter = signed_in("arbiter")
    overview = arbiter.get("/judge/appeals").get_data(as_text=True)
    assert f'/judge/stages/{prelim["stage"]}/appeals' in overview
    assert 'href="/judge/appeals"' in overview  # in the arbiter's navigation
    listed = arbiter.get(f'/judge/stages/{prelim["stage"]}/appeals').get_data(as_text=True)
    assert "第12题标准答案有误" in listed and f"/judge/appeals/{appeal.id}/ruling" in listed
    no_reason = arbiter.post(f"/judge/appeals/{appeal.id}/ruling", {"decision": "upheld",
                                                                    "ruling": ""})
    assert no_reason.status_code == 422
    assert f'id="ruling-{appeal.id}-error"' in no_reason.get_data(as_text=True)
    ruled = arbiter.post(f"/judge/appeals/{appeal.id}/ruling", {
        "decision": "upheld", "ruling": "标准答案有误，该题应得2分"})
    assert ruled.status_code == 302
    db_session.refresh(appeal)
    assert appeal.status.value == "upheld" and appeal.ruling == "标准答案有误，该题应得2分"
    arbiter.logout()

    contestant = signed_in("contestant")
    mine = contestant.get("/portal/entries/1/appeals").get_data(as_text=True)
    assert "标准答案有误，该题应得2分" in mine
    contestant.logout()

    organiser = signed_in("organiser")
    # Organisers may look, not rule.
    seen = organiser.get(f'/judge/stages/{prelim["stage"]}/appeals?status=upheld')
    text = seen.get_data(as_text=True)
    assert seen.status_code == 200 and "标准答案有误" in text
    assert f"/judge/appeals/{appeal.id}/ruling" not in text and "须更正" in text
    assert organiser.post(f"/judge/appeals/{appeal.id}/ruling", {
        "decision": "dismissed", "ruling": "x"}).status_code == 403
    form = organiser.get(f'/admin/stages/{prelim["stage"]}/results').get_data(as_text=True)
    assert 'id="version-appeals"' in form and f'value="{appeal.id}"' in form
    computed = organiser.post(f'/admin/stages/{prelim["stage"]}/results', {
        "reason": "理论成绩更正", "appeal_id": str(appeal.id)})
    assert computed.status_code == 302
    version = db_session.scalar(sa.select(ResultsVersion))
    db_session.refresh(appeal)
    assert appeal.resulting_version_id == version.id
    assert version.reason == f"理论成绩更正（申诉#{appeal.id}）"
    form = organiser.get(f'/admin/stages/{prelim["stage"]}/results').get_data(as_text=True)
    assert 'id="version-appeals"' not in form  # nothing left to carry


def test_outside_the_window_the_appeal_is_refused_next_to_the_field(signed_in, prelim,
                                                                     db_session):
    sitting = db_session.get(Sitting, prelim["sitting"])
    sitting.ends_at = utcnow() - timedelta(hours=2, minutes=1)
    db_session.commit()
    contestant = signed_in("contestant")
    page = contestant.get("/portal/entries/1/appeals").get_data(as_text=True)
    assert 'id="no-window"' in page
    refused = contestant.post("/portal/entries/1/appeals", {
        "component_id": prelim["theory"], "text": "迟到的申诉"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="component_id-error"' in text
    assert "已截止" in text
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Appeal)) == 0


def test_a_contestant_sees_only_their_own_entry_and_appeals(signed_in, prelim, db_session):
    other = db_session.scalar(sa.select(StageEntry).where(
        StageEntry.stage_id == prelim["stage"], StageEntry.entry_id != 1).limit(1))
    db_session.add(Appeal(stage_entry_id=other.id, component_id=prelim["theory"],
                          text="另一位选手的申诉"))
    db_session.commit()
    contestant = signed_in("contestant")
    assert contestant.get(f"/portal/entries/{other.entry_id}/appeals").status_code == 404
    assert contestant.post(f"/portal/entries/{other.entry_id}/appeals", {
        "component_id": prelim["theory"], "text": "冒名申诉"}).status_code == 404
    page = contestant.get("/portal/entries/1/appeals").get_data(as_text=True)
    assert "另一位选手的申诉" not in page
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Appeal)) == 1
    contestant.logout()
    # The enterprise contact sees its people's entries but files no appeal for them.
    assert signed_in("contact").get("/portal/entries/1/appeals").status_code == 403
