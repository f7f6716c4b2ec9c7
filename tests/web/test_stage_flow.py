"""The stage page says where a stage stands; a list on a superseded version is flagged on every
page that shows it and cannot be finalised; withdrawing, regenerating and the other irreversible
steps ask for confirmation first; the public notice says when and why a list was withdrawn and
carries its dated amendments."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import (
    AdvancementEntry,
    AdvancementList,
    AuditLog,
    Objection,
    ResultsVersion,
    Stage,
    StageEntry,
    Track,
)
from tests.results_setup import (
    confirmed_post,
    correct_theory_to_88_24,
    make_top_scorer_98_24,
    pass_eligibility_on_the_web,
    pass_recheck,
    recheck_and_publish,
    score_preliminary,
)


@pytest.fixture
def corrected(app, db_session):
    """The chemical preliminary: version 1 published (the first contestant first with 98.24),
    its list on notice (the notice period over), then the first contestant's theory corrected
    and version 2 computed and re-checked, not yet published. Returns the ids."""
    from app.extensions import db
    from app.services import accounts, results

    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        stage_id, _people = score_preliminary(seed=5)
        stage = db.session.get(Stage, stage_id)
        place = make_top_scorer_98_24(stage)
        first = recheck_and_publish(results.create_version(stage, actor=organiser), organiser)
        listing = results.generate_list(first, actor=organiser)
        results.start_notice(listing, actor=organiser)
        listing.notice_starts_at -= timedelta(days=8)
        listing.notice_ends_at -= timedelta(days=8)
        correct_theory_to_88_24(place)
        second = results.create_version(stage, actor=organiser, reason="理论成绩更正")
        pass_recheck(second, organiser)
        db.session.commit()
        return {"stage": stage_id, "list": listing.id, "first": first.id, "second": second.id,
                "place": place.id, "name": place.entry.contestant.name,
                "exam_number": place.entry.exam_number}


def advanced_places(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(StageEntry).join(Stage)
                          .join(Track).where(Track.code == "chem", Stage.seq == 2))


def test_publishing_asks_first_and_says_the_list_will_be_flagged(signed_in, corrected,
                                                                 db_session):
    organiser = signed_in("organiser")
    url = f"/admin/results/{corrected['second']}/publish"
    asked = organiser.post(url)
    page = asked.get_data(as_text=True)
    consequences = page.split('id="consequences"')[1].split("</ul>")[0]
    assert "成绩第2版" in consequences and "第1版被取代" in consequences
    assert "依据成绩第1版，60人）将被标记" in consequences and "不能定稿" in consequences
    assert db_session.get(ResultsVersion, corrected["second"]).status.value == "draft"
    stale = organiser.post(url, {"confirm": "0" * 20})  # a confirmation of other facts
    assert "情况在您确认前已有变化" in stale.get_data(as_text=True)
    assert db_session.get(ResultsVersion, corrected["second"]).status.value == "draft"
    confirmed_post(organiser, url)
    db_session.expire_all()
    assert db_session.get(ResultsVersion, corrected["second"]).status.value == "published"


def test_a_superseded_list_is_flagged_everywhere_and_finalising_it_changes_nothing(
        signed_in, corrected, db_session, client):
    organiser = signed_in("organiser")
    confirmed_post(organiser, f"/admin/results/{corrected['second']}/publish")
    list_page = organiser.get(f"/admin/lists/{corrected['list']}").get_data(as_text=True)
    assert "成绩已更正：其后发布了第2版" in list_page and 'id="superseded"' in list_page
    assert "成绩已更正" in organiser.get(
        f"/admin/stages/{corrected['stage']}/results").get_data(as_text=True)
    assert "成绩已更正" in organiser.get(
        f"/admin/results/{corrected['first']}").get_data(as_text=True)
    stage_page = organiser.get(f"/admin/stages/{corrected['stage']}").get_data(as_text=True)
    blockers = stage_page.split('id="stage-blockers"')[1].split("</div>")[0]
    assert "依据成绩第1版生成" in blockers and "第2版" in blockers
    assert "下一步：已定稿" in stage_page
    public = client.get(f"/notices/{corrected['list']}").get_data(as_text=True)
    assert "其后已发布更正后的第2版" in public
    assert "其后已发布更正成绩" in client.get("/notices").get_data(as_text=True)

    places_before = advanced_places(db_session)
    audit_before = db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    refused = organiser.post(f"/admin/lists/{corrected['list']}/finalise",
                             follow_redirects=True)
    assert "请撤回名单并重新生成，或说明理由确认维持" in refused.get_data(as_text=True)
    db_session.expire_all()
    listing = db_session.get(AdvancementList, corrected["list"])
    assert listing.status.value == "notice" and listing.stage.status.value == "notice"
    assert advanced_places(db_session) == places_before
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audit_before


def test_withdraw_then_regenerate_and_the_public_notice_says_when_why_and_what_changed(
        signed_in, corrected, db_session, client):
    organiser = signed_in("organiser")
    confirmed_post(organiser, f"/admin/results/{corrected['second']}/publish")
    url = f"/admin/lists/{corrected['list']}/withdraw"
    no_reason = organiser.post(url, {"reason": " "})
    assert no_reason.status_code == 422
    assert "请说明撤回名单的原因" in no_reason.get_data(as_text=True)
    reason = "理论成绩更正，依第2版重新生成"
    asked = organiser.post(url, {"reason": reason}).get_data(as_text=True)
    consequences = asked.split('id="consequences"')[1].split("</ul>")[0]
    assert "依据成绩第1版，60人" in consequences and "第2版" in consequences
    db_session.expire_all()
    assert db_session.get(AdvancementList, corrected["list"]).status.value == "notice"
    done = confirmed_post(organiser, url, {"reason": reason}, follow_redirects=True)
    assert "名单已撤回" in done.get_data(as_text=True)
    db_session.expire_all()
    old = db_session.get(AdvancementList, corrected["list"])
    assert old.status.value == "withdrawn" and old.stage.status.value == "provisional"

    public = client.get(f"/notices/{old.id}").get_data(as_text=True)
    banner = public.split('id="withdrawn"')[1].split("</div>")[0]
    beijing = (old.withdrawn_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert f"本名单已于{beijing}（北京时间）撤回" in banner and reason in banner
    assert old.withdrawn_at.strftime("%Y-%m-%d %H:%M") not in banner
    assert "新名单将另行公布" in banner

    pass_eligibility_on_the_web(organiser, corrected["stage"], db_session)  # the re-drawn pool
    made = organiser.post(f"/admin/results/{corrected['second']}/advancement")
    new_id = int(re.search(r"/admin/lists/(\d+)", made.location).group(1))
    organiser.post(f"/admin/lists/{new_id}/notice")
    assert f"/notices/{new_id}" in client.get(f"/notices/{old.id}").get_data(as_text=True)
    fresh = client.get(f"/notices/{new_id}").get_data(as_text=True)
    amendments = fresh.split('id="amendments"')[1].split("</ol>")[0]
    assert "本名单取代" in amendments and reason in amendments and "第2版" in amendments
    # the corrected contestant (98.24 → 92.24) heads the withdrawn list, not the new one
    def first_row(page):
        return page.split('id="notice-list"')[1].split("<tbody>")[1].split("</tr>")[0]

    assert corrected["exam_number"] in first_row(public)
    assert corrected["exam_number"] not in first_row(fresh)
    new_rank = db_session.scalar(sa.select(AdvancementEntry.rank).where(
        AdvancementEntry.list_id == new_id, AdvancementEntry.stage_entry_id == corrected["place"]))
    assert new_rank > 1


def test_an_upheld_objection_asks_first_naming_who_goes_and_who_takes_the_place(
        signed_in, corrected, db_session):
    organiser = signed_in("organiser")
    listing = db_session.get(AdvancementList, corrected["list"])
    target = next(e for e in listing.entries if e.status.value == "advancing")
    organiser.post(f"/admin/lists/{listing.id}/objections", {
        "advancement_entry_id": str(target.id), "filed_by_name": "职工乙", "text": "年限不实"})
    objection_id = db_session.scalar(sa.select(sa.func.max(Objection.id)))
    url = f"/admin/objections/{objection_id}/ruling"
    data = {"decision": "upheld", "ruling": "经核实年限不足"}
    asked = organiser.post(url, data).get_data(as_text=True)
    consequences = asked.split('id="consequences"')[1].split("</ul>")[0]
    assert target.stage_entry.entry.exam_number in consequences and "递补给" in consequences
    assert 'name="ruling" value="经核实年限不足"' in asked
    db_session.expire_all()
    assert db_session.get(Objection, objection_id).status.value == "open"
    confirmed_post(organiser, url, data)
    db_session.expire_all()
    assert db_session.get(Objection, objection_id).status.value == "upheld"


def test_finalising_asks_first_with_the_number_of_advancers_and_the_next_stage(
        signed_in, corrected, db_session):
    organiser = signed_in("organiser")
    confirmed_post(organiser, f"/admin/results/{corrected['second']}/publish")
    organiser.post(f"/admin/lists/{corrected['list']}/keep", {"reason": "复核后晋级人员不变"})
    kept = confirmed_post(organiser, f"/admin/lists/{corrected['list']}/keep",
                          {"reason": "复核后晋级人员不变"}, follow_redirects=True)
    assert "维持不变" in kept.get_data(as_text=True)
    url = f"/admin/lists/{corrected['list']}/finalise"
    asked = organiser.post(url).get_data(as_text=True)
    consequences = asked.split('id="consequences"')[1].split("</ul>")[0]
    assert "60名晋级选手进入进阶考核" in consequences
    assert advanced_places(db_session) == 0
    confirmed_post(organiser, url)
    assert advanced_places(db_session) == 60
