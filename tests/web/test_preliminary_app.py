"""The online preliminary in the organiser console: the learning-points rule saved as versions,
an app export uploaded, checked and imported from its batch page, the learning points shown
with their rule version and masked ID numbers; organisers only."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from app.models import ComponentScore, LearningRuleVersion
from tests.preliminary_sheets import (
    LEARNING_HEADER,
    prelim_component,
    prelim_stage,
    stage_people,
    xlsx,
)


@pytest.fixture
def setup(app, db_session):
    with app.app_context():
        return {"stage": prelim_stage().id, "learning": prelim_component("learning").id,
                "people": stage_people(2)}


def rule_form(**overrides) -> dict:
    data = {"kinds-0-name": "阅读", "kinds-0-counts": "time", "kinds-0-minutes_per_step": "5",
            "kinds-0-points_per_step": "1", "kinds-0-daily_cap": "6",
            "kinds-1-name": "答题", "kinds-1-counts": "quiz", "kinds-1-full_marks": "100",
            "kinds-1-points_on_full_marks": "3", "kinds-1-points_per_attempt": "1",
            "min_minutes": "2", "daily_cap": "10", "total_cap": "", "note": "2025年预赛"}
    data.update(overrides)
    return data


def test_the_rule_page_saves_versions_and_never_changes_an_earlier_one(signed_in, setup,
                                                                        db_session):
    organiser = signed_in("organiser")
    url = f"/admin/stages/{setup['stage']}/learning-rule"
    assert organiser.post(url, rule_form()).status_code == 302
    assert organiser.post(url, rule_form(**{"kinds-0-daily_cap": "8"})).status_code == 302
    versions = db_session.scalars(sa.select(LearningRuleVersion).order_by(
        LearningRuleVersion.version)).all()
    assert [(v.version, v.rule["kinds"][0]["daily_cap"]) for v in versions] == [(1, "6"), (2, "8")]
    page = organiser.get(f"/admin/stages/{setup['stage']}/app").get_data(as_text=True)
    assert "现行第 2 版" in page and "第 1 版" in page


def test_a_wrong_rule_is_refused_in_chinese_and_saves_nothing(signed_in, setup, db_session):
    organiser = signed_in("organiser")
    response = organiser.post(f"/admin/stages/{setup['stage']}/learning-rule",
                              rule_form(**{"kinds-0-minutes_per_step": "0"}))
    assert response.status_code == 422
    assert "“阅读”每档分钟数须为正数" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(LearningRuleVersion)) == 0


def test_learning_rows_are_checked_imported_and_shown_with_their_rule_version(
        signed_in, setup, db_session):
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{setup['stage']}/learning-rule", rule_form())
    (id0, name0, phone0), (id1, name1, _p) = setup["people"]
    rows = [[1, id0, name0, phone0, "2025-07-01", "阅读", "安全生产法", 12, None],
            [2, id0, name0, phone0, "2025-07-01", "阅读", "安全生产法", 20, None],
            [3, id1, name1, None, "2025-07-01", "答题", "每日一练", None, 100]]
    response = organiser.post(f"/admin/stages/{setup['stage']}/app",
                              {"export": "app_learning",
                               "file": (io.BytesIO(xlsx(LEARNING_HEADER, rows)), "学习记录.xlsx")},
                              content_type="multipart/form-data")
    assert response.status_code == 302
    batch_id = int(re.search(r"/imports/(\d+)", response.location).group(1))
    page = organiser.get(f"/admin/results-imports/{batch_id}").get_data(as_text=True)
    assert "按本阶段学习积分规则第 1 版，由 2 人的 3 行学习记录计算积分" in page
    assert organiser.post(f"/admin/results-imports/{batch_id}/import").status_code == 302
    points = sorted(db_session.scalars(sa.select(ComponentScore.points).where(
        ComponentScore.component_id == setup["learning"])))
    assert [str(p) for p in points] == ["3.000", "4.000"]
    page = organiser.get(f"/admin/stages/{setup['stage']}/app").get_data(as_text=True)
    assert "规则第 1 版" in page and "学习记录.xlsx" in page
    assert id0 not in page and id0[:4] in page  # ID numbers masked


def test_a_bad_learning_row_is_shown_by_row_column_and_reason(signed_in, setup):
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{setup['stage']}/learning-rule", rule_form())
    (id0, _name0, phone0) = setup["people"][0]
    rows = [[1, id0, "冒名者", phone0, "2025-07-01", "阅读", "A", 12, None]]
    response = organiser.post(f"/admin/stages/{setup['stage']}/app",
                              {"export": "app_learning",
                               "file": (io.BytesIO(xlsx(LEARNING_HEADER, rows)), "x.xlsx")},
                              content_type="multipart/form-data")
    page = organiser.get(response.location).get_data(as_text=True)
    if "/results-imports/" not in response.location:
        page = organiser.get(organiser.get(response.location).location).get_data(as_text=True)
    assert "<td class=\"text-end\">3</td><td>姓名</td><td>姓名“冒名者”与该身份证号登记的姓名" in page


@pytest.mark.parametrize("username", ["judge1", "chief", "contact", "contestant"])
def test_only_organisers_reach_the_app_import_and_the_rule(signed_in, setup, username):
    visitor = signed_in(username)
    for url in (f"/admin/stages/{setup['stage']}/app",
                f"/admin/stages/{setup['stage']}/learning-rule"):
        assert visitor.get(url).status_code == 403
        assert visitor.post(url, rule_form()).status_code == 403
    assert visitor.post(f"/admin/stages/{setup['stage']}/learning/recount").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(visitor, setup):
    response = visitor.get(f"/admin/stages/{setup['stage']}/app")
    assert response.status_code == 302 and "/login" in response.location


def test_an_advanced_stage_has_no_app_import(signed_in, app, db_session):
    from tests.result_sheets import advanced_stage

    with app.app_context():
        stage_id = advanced_stage().id
    assert signed_in("organiser").get(f"/admin/stages/{stage_id}/app").status_code == 404


def test_counting_again_after_a_new_rule_version_is_confirmed_first(signed_in, setup,
                                                                   db_session):
    from tests.results_setup import confirmed_post

    organiser = signed_in("organiser")
    url = f"/admin/stages/{setup['stage']}/learning-rule"
    organiser.post(url, rule_form())
    (id0, name0, phone0) = setup["people"][0]
    rows = [[1, id0, name0, phone0, "2025-07-01", "阅读", "安全生产法", 40, None]]  # 8 → cap 6
    response = organiser.post(f"/admin/stages/{setup['stage']}/app",
                              {"export": "app_learning",
                               "file": (io.BytesIO(xlsx(LEARNING_HEADER, rows)), "学习.xlsx")},
                              content_type="multipart/form-data")
    batch_id = int(re.search(r"/imports/(\d+)", response.location).group(1))
    organiser.post(f"/admin/results-imports/{batch_id}/import")
    organiser.post(url, rule_form(**{"kinds-0-daily_cap": "4"}))
    page = organiser.get(f"/admin/stages/{setup['stage']}/app").get_data(as_text=True)
    assert 'id="stale-learning"' in page and "1 人的学习积分是按旧版本规则计算的" in page
    recount = f"/admin/stages/{setup['stage']}/learning/recount"
    asked = organiser.post(recount).get_data(as_text=True)
    assert "6 （第 1 版）→ 4" in asked  # shown before anything changes
    assert [str(p) for p in db_session.scalars(sa.select(ComponentScore.points).where(
        ComponentScore.component_id == setup["learning"]))] == ["6.000"]
    assert confirmed_post(organiser, recount).status_code == 302
    assert [str(p) for p in db_session.scalars(sa.select(ComponentScore.points).where(
        ComponentScore.component_id == setup["learning"]))] == ["4.000"]
    page = organiser.get(f"/admin/stages/{setup['stage']}/app").get_data(as_text=True)
    assert 'id="stale-learning"' not in page and "规则第 2 版" in page


def test_a_participant_list_is_checked_then_imported_from_its_batch_page(signed_in, setup,
                                                                         db_session):
    from app.models import Contestant, Entry, StageEntry
    from tests.preliminary_sheets import new_id_number

    organiser = signed_in("organiser")
    newcomer = new_id_number(31)
    header = ["序号", "姓名", "性别", "身份证号码", "手机号码", "工作单位", "担任班组长年限"]
    content = xlsx(header, [[1, "钱新人", "男", newcomer, "13912345678", "扬子石化公司", 6]])
    response = organiser.post(f"/admin/stages/{setup['stage']}/app",
                              {"export": "app_participants",
                               "file": (io.BytesIO(content), "参赛名单.xlsx")},
                              content_type="multipart/form-data")
    batch_id = int(re.search(r"/imports/(\d+)", response.location).group(1))
    page = organiser.get(f"/admin/imports/{batch_id}").get_data(as_text=True)
    assert "1 人仅在APP报名，将成为本赛道的报名" in page
    assert db_session.scalar(sa.select(Contestant.id).where(
        Contestant.id_number == newcomer)) is None  # a check writes nothing
    assert organiser.post(f"/admin/imports/{batch_id}/import").status_code == 302
    joined = db_session.scalar(
        sa.select(StageEntry.stage_id).join(Entry, Entry.id == StageEntry.entry_id)
        .join(Contestant, Contestant.id == Entry.contestant_id)
        .where(Contestant.id_number == newcomer))
    assert joined == setup["stage"]
    again = organiser.post(f"/admin/stages/{setup['stage']}/app",
                           {"export": "app_participants",
                            "file": (io.BytesIO(content), "参赛名单-再次.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "本次未添加任何数据" in again.get_data(as_text=True)


def test_a_large_learning_export_is_checked_in_the_background_then_imported(
        app, signed_in, setup, db_session, monkeypatch):
    from app.services import imports

    started = []
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_BYTES", 1)
    monkeypatch.setattr(imports, "start_background_check",
                        lambda app_, batch_id: started.append(batch_id))
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{setup['stage']}/learning-rule", rule_form())
    (id0, name0, phone0) = setup["people"][0]
    rows = [[1, id0, name0, phone0, "2025-07-01", "阅读", "安全生产法", 12, None]]
    response = organiser.post(f"/admin/stages/{setup['stage']}/app",
                              {"export": "app_learning",
                               "file": (io.BytesIO(xlsx(LEARNING_HEADER, rows)), "学习.xlsx")},
                              content_type="multipart/form-data")
    batch_id = int(re.search(r"/imports/(\d+)", response.location).group(1))
    response.close()  # the server closes the response after sending it: the check starts
    assert started == [batch_id]
    assert organiser.get(f"/admin/imports/{batch_id}/progress").get_json()["status"] == \
        "checking"

    imports._background_check(app, batch_id)  # what the worker's thread runs

    page = organiser.get(f"/admin/results-imports/{batch_id}").get_data(as_text=True)
    assert "按本阶段学习积分规则第 1 版，由 1 人的 1 行学习记录计算积分" in page
    assert organiser.post(f"/admin/results-imports/{batch_id}/import").status_code == 302
    assert [str(p) for p in db_session.scalars(sa.select(ComponentScore.points).where(
        ComponentScore.component_id == setup["learning"]))] == ["2.000"]
