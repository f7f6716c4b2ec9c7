"""The correction of a signed-off judged score on the web: the chief judge opens it from an
upheld appeal or a re-check finding and corrects the judges' sheets of one workstation (never
seeing names); the organiser then computes a new version naming the appeal, which differs from
the previous for that contestant only."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.models import (
    Appeal,
    ComponentScore,
    Entry,
    Mark,
    MarkingItem,
    ResultsVersion,
    RulingStatus,
    ScoreCorrection,
    ScoreSheet,
    StageEntry,
)


@pytest.fixture
def judged(app, db_session):
    """The advanced stage with its practical signed off (tests/corrections_setup.py), and an
    upheld appeal on the practical by the top contestant."""
    from app.extensions import db
    from app.services import accounts, appeals
    from tests.corrections_setup import signed_off_stage

    with app.app_context():
        ids = signed_off_stage()
        top = ids["places"][0]
        appeal = Appeal(stage_entry_id=top, component_id=ids["practical"], text="A2评分有误",
                        status=RulingStatus.OPEN)
        db.session.add(appeal)
        db.session.flush()
        appeals.rule_on(appeal, decision="upheld", ruling="调阅录像，A2应得11分",
                        actor=accounts.get_by_username("arbiter"))
        place = db.session.get(StageEntry, top)
        db.session.commit()
        return {**ids, "appeal": appeal.id, "workstation": place.workstation_number,
                "name": place.entry.contestant.name, "exam": place.entry.exam_number}


def url(ids, ground=None) -> str:
    base = f"/judge/components/{ids['practical']}/corrections/{ids['workstation']}"
    return f"{base}?ground={ground}" if ground else base


def form(session, ids, changed: dict[str, str], ground: str, reason: str) -> dict:
    """What the correction form posts: every mark of every sheet of the workstation, with
    ``changed`` marks replaced, each sheet's version, the ground and the reason."""
    data = {"ground": ground, "reason": reason}
    sheets = session.scalars(sa.select(ScoreSheet).where(
        ScoreSheet.component_id == ids["practical"], ScoreSheet.stage_entry_id == ids["places"][0]))
    for sheet in sheets:
        data[f"version-{sheet.id}"] = str(sheet.version)
        data[f"overrun-{sheet.id}"] = str(sheet.overrun_minutes or 0)
        for code, value in session.execute(
                sa.select(MarkingItem.code, Mark.value).join(Mark, Mark.item_id == MarkingItem.id)
                .where(Mark.sheet_id == sheet.id)):
            data[f"value-{sheet.id}-{code}"] = changed.get(code, format(value.normalize(), "f"))
    return data


def stored_points(session, ids) -> Decimal:
    return session.scalar(sa.select(ComponentScore.points).where(
        ComponentScore.component_id == ids["practical"],
        ComponentScore.stage_entry_id == ids["places"][0]))


def test_the_chief_judge_corrects_on_the_appeal_and_the_new_version_differs_for_that_contestant(
        signed_in, judged, db_session, app):
    organiser = signed_in("organiser")
    assert organiser.post(f"/admin/stages/{judged['stage']}/results",
                          {"reason": "首次计算"}).status_code == 302
    first = db_session.scalar(sa.select(ResultsVersion).order_by(ResultsVersion.id.desc()))
    organiser.logout()

    arbiter = signed_in("arbiter")
    listed = arbiter.get(f"/judge/stages/{judged['stage']}/appeals?status=upheld")
    link = url(judged, f"appeal-{judged['appeal']}")
    listed = listed.get_data(as_text=True)
    assert f'id="correction-link-{judged["appeal"]}"' in listed
    assert link in listed
    watching = arbiter.get(link).get_data(as_text=True)
    assert 'id="correction-form"' not in watching  # the arbitration group looks on
    assert arbiter.post(link, form(db_session, judged, {"A2": "11"}, f"appeal-{judged['appeal']}",
                                   "x")).status_code == 403
    arbiter.logout()

    chief = signed_in("chief")
    panel = chief.get(f"/judge/components/{judged['practical']}/panel").get_data(as_text=True)
    assert 'id="corrections-after-signoff"' in panel and f"ground=appeal-{judged['appeal']}" in panel
    page = chief.get(link)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="correction-form"' in text
    assert f'value="appeal-{judged["appeal"]}" selected' in text
    assert text.count('class="card mb-3 correction-sheet"') == 5  # every judge's sheet
    assert judged["name"] not in text and judged["exam"] not in text  # blind
    no_ground = chief.post(link, form(db_session, judged, {"A2": "11"}, "", "仲裁裁定"))
    assert no_ground.status_code == 422 and 'id="ground-error"' in no_ground.get_data(as_text=True)
    no_reason = chief.post(link, form(db_session, judged, {"A2": "11"},
                                      f"appeal-{judged['appeal']}", ""))
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.get_data(as_text=True)
    assert stored_points(db_session, judged) == Decimal(95)
    done = chief.post(link, form(db_session, judged, {"A2": "11"}, f"appeal-{judged['appeal']}",
                                 "仲裁组裁定A2应得11分"))
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    assert stored_points(db_session, judged) == Decimal(96)
    after = chief.get(url(judged)).get_data(as_text=True)
    assert 'id="corrections"' in after and "95.00 → <strong>96.00</strong>" in after
    assert judged["name"] not in after
    chief.logout()

    organiser = signed_in("organiser")
    watching = organiser.get(url(judged)).get_data(as_text=True)
    assert 'id="compute-new-version"' in watching and judged["name"] not in watching
    results_page = organiser.get(f"/admin/stages/{judged['stage']}/results").get_data(as_text=True)
    assert f'value="{judged["appeal"]}" id="appeal-{judged["appeal"]}" checked' in results_page
    created = organiser.post(f"/admin/stages/{judged['stage']}/results",
                             {"reason": "", "appeal_id": str(judged["appeal"])})
    assert created.status_code == 302
    second = db_session.scalar(sa.select(ResultsVersion).order_by(ResultsVersion.id.desc()))
    assert db_session.get(Appeal, judged["appeal"]).resulting_version_id == second.id
    assert f"申诉#{judged['appeal']}" in second.reason

    from app.services import results

    with app.app_context():
        from app.extensions import db

        diff = results.differences(db.session.get(ResultsVersion, second.id),
                                   db.session.get(ResultsVersion, first.id))
        assert {d.entry_id for d in diff} == {judged["places"][0]}
    carried = organiser.get(url(judged)).get_data(as_text=True)
    assert 'id="compute-new-version"' not in carried and f"已进入成绩第{second.number}版" in carried


def test_names_show_only_to_organisers_and_only_once_decrypted(signed_in, judged, app):
    from app.extensions import db
    from app.models import Component
    from app.services import accounts, judging

    organiser = signed_in("organiser")
    assert judged["name"] not in organiser.get(url(judged)).get_data(as_text=True)
    with app.app_context():
        judging.decrypt(db.session.get(Component, judged["practical"]), witness="监督员",
                        actor=accounts.get_by_username("organiser"))
        db.session.commit()
    shown = organiser.get(url(judged)).get_data(as_text=True)
    assert judged["name"] in shown and judged["exam"] in shown
    organiser.logout()
    chief = signed_in("chief").get(url(judged)).get_data(as_text=True)
    assert judged["name"] not in chief and judged["exam"] not in chief


def test_a_judge_cannot_open_it_and_a_corrected_recheck_item_links_to_it(
        signed_in, judged, db_session, app):
    judge = signed_in("judge3")
    assert judge.get(url(judged)).status_code == 403
    judge.logout()
    from app.extensions import db
    from app.services import accounts, rechecks, results

    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        stage = db.session.get(StageEntry, judged["places"][0]).stage
        version = results.create_version(stage, actor=organiser)
        round_ = rechecks.open_round(version, actor=organiser, seed=3)
        items = rechecks.items(round_)
        wrong = next(i for i in items if i.stage_entry_id == judged["places"][0])
        rechecks.record(wrong, outcome="corrected", note="B3 合计录入错误", actor=organiser)
        rechecks.mark_correct(round_, [i.id for i in items if i.id != wrong.id], actor=organiser)
        rechecks.close(round_, actor=organiser)
        round_id, item_id = round_.id, wrong.id
        db.session.commit()
    organiser = signed_in("organiser")
    page = organiser.get(f"/admin/rechecks/{round_id}?show=corrected")
    assert f"ground=recheck-{item_id}" in page.get_data(as_text=True)
    organiser.logout()
    chief = signed_in("chief")
    done = chief.post(url(judged), form(db_session, judged, {"B3": "9"}, f"recheck-{item_id}",
                                        "复核发现B3录入错误"))
    assert done.status_code == 302
    correction = db_session.scalar(sa.select(ScoreCorrection))
    assert correction.recheck_item_id == item_id and correction.points_after == Decimal(94)
    entry = db_session.scalar(sa.select(Entry).join(StageEntry).where(
        StageEntry.id == judged["places"][0]))
    assert entry.contestant.name not in chief.get(url(judged)).get_data(as_text=True)
