"""The exam quality page: organisers only, the flagged question shown in Chinese, a key
correction previewed (nothing written) and applied only when confirmed with a reason."""
import re

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, ComponentScore, ResultsVersion
from tests.exam_setup import WRONG, stored_answer_sheets


def _theory(app):
    with app.app_context():
        theory, answers = stored_answer_sheets()
        db.session.commit()
        return theory.id, answers


def _state(session, component_id):
    return (session.scalar(sa.select(sa.func.count()).select_from(AuditLog)),
            session.scalar(sa.select(sa.func.count()).select_from(ResultsVersion)),
            sorted(session.execute(sa.select(ComponentScore.stage_entry_id, ComponentScore.points)
                                   .where(ComponentScore.component_id == component_id)).all()))


def test_only_organisers_see_the_exam_quality_page(app, signed_in):
    component_id, _ = _theory(app)
    for user in ("judge1", "chief", "contestant", "contact"):
        assert signed_in(user).get(f"/admin/components/{component_id}/exam-quality").status_code == 403


def test_the_page_flags_the_wrong_key_in_chinese(app, signed_in):
    component_id, _ = _theory(app)
    organiser = signed_in("organiser")
    page = organiser.get(f"/admin/components/{component_id}/exam-quality")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = re.search(rf'<tr class="table-danger" data-question="{WRONG}">(.*?)</tr>', html, re.S)
    assert row and "区分度为负：请核对标准答案" in row.group(1)
    assert "克隆巴赫α系数" in html
    # Statistics are shown with two decimals, never a float's tail.
    assert not re.search(r"\d\.\d{3,}", html)
    chart = organiser.get(f"/admin/components/{component_id}/exam-quality/chart.json").get_json()
    assert chart["series"][1]["points"][0]["name"] == f"第{WRONG}题"


def test_a_key_change_is_previewed_first_and_changes_nothing(app, signed_in, db_session):
    component_id, answers = _theory(app)
    organiser = signed_in("organiser")
    before = _state(db_session, component_id)
    preview = organiser.post(f"/admin/components/{component_id}/exam-quality/key",
                             {f"key_{WRONG}": "B"})
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    changed = sum(1 for a in answers.values() if a[str(WRONG)] in ("B", "C"))
    assert f"{changed}名选手的线上理论考试成绩将改变" in html
    assert "第12题标准答案改为B" in html
    assert _state(db_session, component_id) == before


def test_confirming_without_a_reason_is_refused_next_to_the_field(app, signed_in, db_session):
    component_id, _ = _theory(app)
    organiser = signed_in("organiser")
    before = _state(db_session, component_id)
    refused = organiser.post(f"/admin/components/{component_id}/exam-quality/key",
                             {f"key_{WRONG}": "B", "confirm": "yes", "reason": ""})
    assert refused.status_code == 422
    assert 'id="reason-error">请填写更改原因。' in refused.get_data(as_text=True)
    assert _state(db_session, component_id) == before


def test_a_confirmed_change_makes_a_new_version_with_the_reason(app, signed_in, db_session):
    component_id, _ = _theory(app)
    organiser = signed_in("organiser")
    done = organiser.post(f"/admin/components/{component_id}/exam-quality/key",
                          {f"key_{WRONG}": "B", "confirm": "yes", "reason": "命题组复核"})
    assert done.status_code == 302
    version_id = int(re.search(r"/admin/results/(\d+)", done.location).group(1))
    version = db_session.get(ResultsVersion, version_id)
    assert version.reason == "第12题标准答案改为B（命题组复核）"
    page = organiser.get(done.location).get_data(as_text=True)
    assert "第12题标准答案改为B（命题组复核）" in page


def test_a_bad_key_is_shown_next_to_its_question(app, signed_in):
    component_id, _ = _theory(app)
    organiser = signed_in("organiser")
    refused = organiser.post(f"/admin/components/{component_id}/exam-quality/key",
                             {f"key_{WRONG}": "AB"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(rf'id="key_{WRONG}"[^>]*>\s*<div class="invalid-feedback">[^<]*单选题', html)
