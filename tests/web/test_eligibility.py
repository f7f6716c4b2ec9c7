"""The eligibility pool through the console and the portal: only organisers draw and decide; a
reason is required and shown next to its field; the contestant sees their own state and reason
(and no one else's), the enterprise contact their people's; the stage's flow shows the step."""
import re

import pytest
import sqlalchemy as sa

from app.models import AuditLog, Entry, PoolMember, PoolState, StageEntry, User


@pytest.fixture
def published(app, db_session):
    """The chemical preliminary scored (the demo contestant first, 98.24) and published, the
    pool not drawn: the stage id and the demo contestant's stage entry id."""
    from app.extensions import db
    from app.models import Stage
    from app.services import accounts, results
    from tests.results_setup import make_top_scorer_98_24, pass_recheck, score_preliminary

    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        stage_id, _people = score_preliminary(seed=5)
        stage = db.session.get(Stage, stage_id)
        place = make_top_scorer_98_24(stage)
        version = results.create_version(stage, actor=organiser)
        pass_recheck(version, organiser)
        results.publish(version, actor=organiser)
        db.session.commit()
        return {"stage": stage_id, "place": place.id, "entry": place.entry_id,
                "version": version.id}


def member(db_session, place_id: int) -> PoolMember:
    db_session.expire_all()
    return db_session.scalar(sa.select(PoolMember).where(PoolMember.stage_entry_id == place_id))


def test_organiser_draws_the_pool_and_a_contestant_sees_only_their_own_reason(
        signed_in, published, db_session):
    stage = published["stage"]
    organiser = signed_in("organiser")
    page = organiser.get(f"/admin/stages/{stage}/eligibility").get_data(as_text=True)
    assert "依据成绩第1版划定前100名" in page
    flow = organiser.get(f"/admin/stages/{stage}").get_data(as_text=True)
    assert "前100名资格审核：尚未划定审核范围" in flow.split('id="stage-pool"')[1]
    assert organiser.post(f"/admin/stages/{stage}/eligibility/draw").status_code == 302
    page = organiser.get(f"/admin/stages/{stage}/eligibility").get_data(as_text=True)
    assert "审核通过0人 · 资格不符0人 · 待审核100人" in page
    assert page.split('id="pool-members"')[1].count("资格审核中") == 100

    mine = member(db_session, published["place"])
    missing = organiser.post(f"/admin/eligibility/{mine.id}", {"decision": "ineligible",
                                                                "reason": " "})
    assert missing.status_code == 422
    assert "请填写资格不符的原因，选手本人可以看到。" in missing.get_data(as_text=True)
    assert member(db_session, published["place"]).state == PoolState.UNDECIDED

    done = organiser.post(f"/admin/eligibility/{mine.id}", {"decision": "ineligible",
                                                             "reason": "任班组长不满2年"})
    assert done.status_code == 302
    mine = member(db_session, published["place"])
    assert (mine.state, mine.reason) == (PoolState.INELIGIBLE, "任班组长不满2年")
    audit = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "pool.decide"))
    assert audit.actor_name == "organiser" and "资格不符（任班组长不满2年）" in audit.summary
    other = db_session.scalar(sa.select(PoolMember).where(
        PoolMember.stage_entry_id != published["place"], PoolMember.in_pool.is_(True))
        .order_by(PoolMember.rank).limit(1))
    organiser.post(f"/admin/eligibility/{other.id}", {"decision": "ineligible",
                                                      "reason": "另有荣誉限制"})
    page = organiser.get(f"/admin/stages/{stage}/eligibility?state=ineligible").get_data(
        as_text=True)
    rows = page.split('id="pool-members"')[1]
    assert "任班组长不满2年" in rows and "另有荣誉限制" in rows and rows.count("<tr") == 3
    organiser.logout()

    contestant = signed_in("contestant")
    entry_page = contestant.get(f"/portal/entries/{published['entry']}").get_data(as_text=True)
    shown = re.sub(r"<[^>]+>", "", entry_page.split('class="mb-1 eligibility"')[1].split("</p>")[0])
    assert shown.strip(">").strip() == "资格审核：资格不符（任班组长不满2年）"
    home = contestant.get("/portal/").get_data(as_text=True)
    assert "资格不符（任班组长不满2年）" in home
    assert "另有荣誉限制" not in entry_page and "另有荣誉限制" not in home


def test_the_enterprise_contact_sees_the_state_of_its_own_people(signed_in, published,
                                                                 db_session):
    stage = published["stage"]
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{stage}/eligibility/draw")
    contact_user = db_session.scalar(sa.select(User).where(User.username == "contact"))
    ours = db_session.scalar(sa.select(PoolMember).join(StageEntry).join(Entry).where(
        Entry.enterprise_id == contact_user.enterprise_id, PoolMember.in_pool.is_(True))
        .order_by(PoolMember.rank).limit(1))
    assert ours is not None
    organiser.post(f"/admin/eligibility/{ours.id}", {"decision": "confirmed"})
    organiser.logout()
    contact = signed_in("contact")
    home = contact.get("/portal/").get_data(as_text=True)
    assert "资格审核通过" in home


@pytest.mark.parametrize("username", ["contestant", "contact", "judge1", "chief", "arbiter"])
def test_only_organisers_see_the_pool_and_decide(app, signed_in, published, db_session,
                                                 username):
    from app.extensions import db
    from app.models import ResultsVersion
    from app.services import accounts, eligibility

    with app.app_context():
        eligibility.draw(db.session.get(ResultsVersion, published["version"]),
                         actor=accounts.get_by_username("organiser"))
        db.session.commit()
    target = db_session.scalar(sa.select(PoolMember).order_by(PoolMember.rank).limit(1))
    visitor = signed_in(username)
    assert visitor.get(f"/admin/stages/{published['stage']}/eligibility").status_code == 403
    refused = visitor.post(f"/admin/eligibility/{target.id}", {"decision": "ineligible",
                                                               "reason": "伪造"})
    assert refused.status_code == 403
    batch = visitor.post(f"/admin/stages/{published['stage']}/eligibility/confirm",
                         {"member_id": [str(target.id)]})
    assert batch.status_code == 403
    db_session.expire_all()
    assert db_session.get(PoolMember, target.id).state == PoolState.UNDECIDED


def test_the_batch_confirms_only_the_undecided_members_shown(signed_in, published, db_session):
    stage = published["stage"]
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{stage}/eligibility/draw")
    first = member(db_session, published["place"])
    organiser.post(f"/admin/eligibility/{first.id}", {"decision": "ineligible", "reason": "年龄不符"})
    ids = [str(i) for i in db_session.scalars(sa.select(PoolMember.id).where(
        PoolMember.in_pool.is_(True)))]
    organiser.post(f"/admin/stages/{stage}/eligibility/confirm", {"member_id": ids})
    db_session.expire_all()
    states = [m.state for m in db_session.scalars(sa.select(PoolMember).where(
        PoolMember.in_pool.is_(True)))]
    assert states.count(PoolState.INELIGIBLE) == 1  # a decided member is passed over
    assert states.count(PoolState.CONFIRMED) == len(states) - 1
    page = organiser.get(f"/admin/stages/{stage}/eligibility").get_data(as_text=True)
    assert 'id="pool-ready"' in page
    flow = organiser.get(f"/admin/stages/{stage}").get_data(as_text=True)
    assert "已完成" in flow.split('id="stage-pool"')[1].split("</div>")[0]
