"""The what-if preview page: the comparison of two known contestants, errors next to their
fields with status 422, nothing written by a preview, applying through the audited services."""
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from app.models import AuditLog, Stage, StageEntry
from tests.whatif_setup import build_ladder

TABLES = ["results_versions", "result_rows", "result_component_scores", "advancement_lists",
          "advancement_entries", "objections", "component_scores", "components", "stages",
          "audit_log"]


@pytest.fixture
def ladder(app, db_session):
    from app.extensions import db

    with app.app_context():
        built = build_ladder()
        db.session.commit()
        return {"stage_id": built.stage.id, "a": built.a, "b": built.b, "y": built.y,
                "order": built.order}


def url(stage_id, **values):
    query = {"weights.learning": "40", "weights.theory": "60", "quota": "60",
             "per_enterprise_cap": "5", "cutoff_tie_policy": "break", "preview": "1", **values}
    return f"/admin/stages/{stage_id}/what-if?{urlencode(query)}"


def counts(db_session):
    return {t: db_session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in TABLES}


def settings(db_session, stage_id):
    db_session.expire_all()
    stage = db_session.get(Stage, stage_id)
    return (stage.quota, stage.per_enterprise_cap, stage.cutoff_tie_policy.value,
            [str(c.weight) for c in stage.components])


def exam_number(db_session, place_id):
    return db_session.get(StageEntry, place_id).entry.exam_number


def test_the_form_starts_from_the_current_settings(signed_in, ladder):
    page = signed_in("organiser").get(f"/admin/stages/{ladder['stage_id']}/what-if")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "假设分析" in html
    assert 'name="weights.learning" value="40"' in html and 'name="quota" value="60"' in html
    assert 'name="per_enterprise_cap" value="5"' in html and 'id="preview"' not in html


def test_a_weight_change_lists_the_two_swapped_contestants(signed_in, ladder, db_session):
    organiser = signed_in("organiser")
    before, stored = counts(db_session), settings(db_session, ladder["stage_id"])
    page = organiser.get(url(ladder["stage_id"], **{
        "weights.learning": "30", "weights.theory": "70"}))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    table = html.split('id="whatif-changes"')[1].split("</table>")[0]
    assert table.count("<tr class") == 2
    first, second = table.split("<tr class")[1:]
    assert exam_number(db_session, ladder["a"]) in first and "2 → <strong>1</strong>" in first
    assert "82.00 → 84.00" in first and "上升" in first
    assert exam_number(db_session, ladder["b"]) in second and "84.00 → 83.00" in second
    assert "上升：1" in html and "下降：1" in html and "新晋级：0" in html
    assert html.count("名额60人，晋级60人") == 2
    assert 'id="apply-form"' in html and 'name="weights.theory" value="70"' in html
    assert counts(db_session) == before and settings(db_session, ladder["stage_id"]) == stored


def test_the_other_cut_off_policy_shows_the_newcomer_and_both_notes(signed_in, ladder,
                                                                    db_session):
    html = signed_in("organiser").get(url(ladder["stage_id"], cutoff_tie_policy="include_all")
                                      ).get_data(as_text=True)
    table = html.split('id="whatif-changes"')[1].split("</table>")[0]
    assert table.count("<tr class") == 1 and 'class="table-success"' in table
    assert exam_number(db_session, ladder["y"]) in table
    assert "候补 → <strong>晋级</strong>" in table
    notes = html.split('id="whatif-notes"')[1].split("</dl>")[0]
    assert "已按并列比较规则区分" in notes and "按并列全部晋级规则晋级61人" in notes


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"weights.learning": "45", "weights.theory": "50"}, "weight_total",
     "权重合计必须为100%，当前为95%"),
    ({"weights.learning": "", "weights.theory": "100"}, "weights.learning", "该字段是必填字段"),
    ({"weights.theory": "六十"}, "weights.theory", "请输入数字"),
    ({"quota": "0"}, "quota", "晋级名额"),
    ({"per_enterprise_cap": "2.5"}, "per_enterprise_cap", "整数"),
    ({"cutoff_tie_policy": "coin"}, "cutoff_tie_policy", "请从给出的选项中选择"),
])
def test_bad_settings_are_422_with_the_message_next_to_the_field(signed_in, ladder, db_session,
                                                                  values, field, message):
    organiser = signed_in("organiser")
    before, stored = counts(db_session), settings(db_session, ladder["stage_id"])
    page = organiser.get(url(ladder["stage_id"], **values))
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    error = html.split(f'id="{"weight_total" if field == "weight_total" else "f-" + field}-error"'
                       )[1].split("</div>")[0]
    assert message in error, error
    assert 'id="preview"' not in html
    assert counts(db_session) == before and settings(db_session, ladder["stage_id"]) == stored


def test_a_stage_without_scores_cannot_be_previewed(signed_in, db_session):
    stage = db_session.scalar(sa.select(Stage).where(Stage.seq == 1))
    page = signed_in("organiser").get(url(stage.id))
    assert page.status_code == 409 and "尚无导入成绩" in page.get_data(as_text=True)


def test_applying_quota_and_policy_is_audited_and_asks_for_a_new_version(signed_in, ladder,
                                                                         db_session):
    organiser = signed_in("organiser")
    response = organiser.post(f"/admin/stages/{ladder['stage_id']}/what-if/apply", {
        "weights.learning": "40", "weights.theory": "60", "quota": "61",
        "per_enterprise_cap": "5", "cutoff_tie_policy": "include_all"})
    assert response.status_code == 302
    assert response.location.endswith(f"/admin/stages/{ladder['stage_id']}/results")
    assert settings(db_session, ladder["stage_id"])[:3] == (61, 5, "include_all")
    record = db_session.scalar(sa.select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
    assert record.action == "stage.update" and record.after == {
        "quota": 61, "cutoff_tie_policy": "include_all"}
    page = organiser.get(response.location).get_data(as_text=True)
    assert "新版本" in page and "results_versions" not in page
    assert db_session.scalar(sa.text("SELECT count(*) FROM results_versions")) == 0


def test_applying_new_weights_of_scored_components_is_refused_next_to_the_field(
        signed_in, ladder, db_session):
    organiser = signed_in("organiser")
    before, stored = counts(db_session), settings(db_session, ladder["stage_id"])
    response = organiser.post(f"/admin/stages/{ladder['stage_id']}/what-if/apply", {
        "weights.learning": "30", "weights.theory": "70", "quota": "61",
        "per_enterprise_cap": "5", "cutoff_tie_policy": "break"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "已有成绩" in html.split('id="f-weights.learning-error"')[1].split("</div>")[0]
    assert counts(db_session) == before and settings(db_session, ladder["stage_id"]) == stored


def test_applying_the_current_settings_changes_nothing(signed_in, ladder, db_session):
    organiser = signed_in("organiser")
    before = counts(db_session)
    response = organiser.post(
        f"/admin/stages/{ladder['stage_id']}/what-if/apply", {
            "weights.learning": "40", "weights.theory": "60", "quota": "60",
            "per_enterprise_cap": "5", "cutoff_tie_policy": "break"}, follow_redirects=True)
    assert "无需应用" in response.get_data(as_text=True)
    assert counts(db_session) == before
