"""Details the organiser and every role meet each day (issue 12, "Smaller"): a refused form
answers 422 with a summary of its errors at the top, track selectors that tell a copied
contest from the original, an imported entry that keeps its enterprise's city and category,
a clear reason when a submitted entry is approved, the home page's public links, menus by
role, and a re-check outcome that must be chosen."""
import io
import re

import pytest
import sqlalchemy as sa

from app.models import AuditLog, Contest, Enterprise, Entry, EntryStatus, RecheckItem, Track
from tests.import_sheets import Sheet, person
from tests.web.test_component_end_time import components_form, preliminary
from tests.web.test_rechecks import version_id  # noqa: F401  (a fixture)


def _summary(page: str) -> str:
    match = re.search(r'<div[^>]*id="error-summary".*?</div>', page, re.S)
    assert match, "no error summary at the top of the page"
    return match.group(0)


# --- form refusals ----------------------------------------------------------------------------

def test_a_bad_date_far_down_the_components_form_answers_422_with_a_summary_at_the_top(
        signed_in, db_session):
    organiser = signed_in("organiser")
    stage = preliminary(db_session)
    index = next(i for i, c in enumerate(stage.components) if c.code == "theory")
    field = f"components-{index}-ends_at"
    refused = organiser.post(f"/admin/stages/{stage.id}/components",
                             components_form(stage, **{field: "7月8日"}))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    summary = _summary(page)
    assert "请修正下列错误" in summary and f'href="#{field}"' in summary
    # the summary comes before the form, the message stays next to the field too
    assert page.index('id="error-summary"') < page.index(f'id="{field}"')
    assert f'id="{field}-error"' in page
    assert preliminary(db_session).components[index].ends_at is None


def test_a_service_refusal_on_a_form_is_summarised_at_the_top_too(signed_in, db_session):
    organiser = signed_in("organiser")
    stage = preliminary(db_session)
    index = next(i for i, c in enumerate(stage.components) if c.code == "theory")
    field = f"components-{index}-ends_at"
    refused = organiser.post(f"/admin/stages/{stage.id}/components",
                             components_form(stage, **{field: "2025-07-09T00:30"}))
    assert refused.status_code == 422
    summary = _summary(refused.get_data(as_text=True))
    assert f'href="#{field}"' in summary and "结束时间须在此范围内" in summary


def test_a_review_reason_with_a_control_character_answers_422_and_changes_nothing(
        signed_in, db_session):
    entry = db_session.scalar(sa.select(Entry).where(Entry.status == EntryStatus.SUBMITTED)
                              .limit(1))
    refused = signed_in("organiser").post(f"/admin/entries/{entry.id}/review",
                                          {"action": "reject", "reason": "材料\x00不全"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="reason-error"' in page and 'href="#reason"' in _summary(page)
    db_session.expire_all()
    assert db_session.get(Entry, entry.id).status == EntryStatus.SUBMITTED


def test_a_page_that_is_not_refused_shows_no_error_summary(signed_in, db_session):
    stage = preliminary(db_session)
    page = signed_in("organiser").get(f"/admin/stages/{stage.id}/components")
    assert page.status_code == 200 and 'id="error-summary"' not in page.get_data(as_text=True)


# --- the smaller items ------------------------------------------------------------------------

def test_track_selectors_tell_a_copied_contest_from_the_original(app, signed_in, db_session):
    from app.extensions import db
    from app.services import accounts, contests

    with app.app_context():
        source = db.session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
        contests.copy_contest(source, {"code": "jstl-2026", "name": source.name.replace(
            "2025", "2026"), "year": "2026"}, actor=accounts.get_by_username("organiser"))
        db.session.commit()
    organiser = signed_in("organiser")
    for url, select_id in (("/admin/imports", "track"), ("/admin/entries", "f-track")):
        page = organiser.get(url).get_data(as_text=True)
        select = page.split(f'id="{select_id}"')[1].split("</select>")[0]
        labels = [label.strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select)
                  if "化工" in label]
        assert len(labels) == 2 and len(set(labels)) == 2, labels
        assert any("2025" in label for label in labels)
        assert any("2026" in label for label in labels)


def test_an_imported_entry_of_a_known_enterprise_keeps_its_city_and_category(signed_in,
                                                                              db_session):
    known = db_session.scalar(sa.select(Enterprise).where(
        Enterprise.category.is_not(None), Enterprise.city.is_not(None)).order_by(Enterprise.id))
    organiser = signed_in("organiser")
    track = db_session.scalar(sa.select(Track).where(Track.code == "chem"))
    sheet = Sheet(rows=[person(901, 工作单位=known.name, 单位类别="", 设区市=""),
                        person(902, 工作单位=known.name, 单位类别="生物医药", 设区市="苏州市")])
    checked = organiser.post("/admin/imports", {"track": str(track.id),
                                                "file": (io.BytesIO(sheet.xlsx()), "报名表.xlsx")},
                             content_type="multipart/form-data")
    batch_id = int(re.search(r"/admin/imports/(\d+)$", checked.location).group(1))
    assert organiser.post(f"/admin/imports/{batch_id}/import").status_code == 302
    entries = {e.contestant.name: e for e in db_session.scalars(
        sa.select(Entry).where(Entry.import_batch_id == batch_id))}
    assert (entries["张901"].enterprise_category, entries["张901"].city) == (known.category,
                                                                             known.city)
    # what the sheet says is kept
    assert (entries["张902"].enterprise_category, entries["张902"].city) == ("生物医药", "苏州市")
    page = organiser.get(f"/admin/entries/{entries['张901'].id}").get_data(as_text=True)
    assert f"（{known.category}，{known.city}）" in page


def test_approving_a_submitted_entry_says_the_enterprise_must_endorse_it_first(signed_in,
                                                                               db_session):
    entry = db_session.scalar(sa.select(Entry).where(Entry.status == EntryStatus.SUBMITTED)
                              .limit(1))
    organiser = signed_in("organiser")  # the sign-in is audited: counted after it
    audited = db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    refused = organiser.post(f"/admin/entries/{entry.id}/review",
                                          {"action": "approve", "reason": ""})
    assert refused.status_code == 409
    assert "须先由单位联系人（或组委会）推荐" in refused.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Entry, entry.id).status == EntryStatus.SUBMITTED
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audited


def test_the_home_page_links_the_public_notices_and_the_score_lookup(visitor):
    page = visitor.get("/").get_data(as_text=True)
    main = page.split('id="main"')[1]
    assert 'href="/notices"' in main and "公示" in main
    assert re.search(r'href="/[^"]*lookup[^"]*"', main) and "成绩查询" in main


@pytest.mark.parametrize("username, sees_tokens", [
    ("organiser", True), ("judge1", False), ("chief", False), ("arbiter", False),
    ("contact", False), ("contestant", False)])
def test_only_organisers_see_the_api_tokens_menu(signed_in, username, sees_tokens):
    page = signed_in(username).get("/", follow_redirects=True).get_data(as_text=True)
    menu = page.split('id="nav-main"')[1].split("</nav>")[0]
    assert ("API 令牌" in menu) is sees_tokens


def test_the_recheck_outcome_must_be_chosen_and_has_no_default(signed_in, version_id,  # noqa: F811
                                                               db_session):
    organiser = signed_in("organiser")
    opened = organiser.post(f"/admin/results/{version_id}/recheck")
    round_id = int(re.search(r"/admin/rechecks/(\d+)", opened.location).group(1))
    item = db_session.scalars(sa.select(RecheckItem).where(RecheckItem.round_id == round_id)
                              .order_by(RecheckItem.id)).first()
    page = organiser.get(opened.location).get_data(as_text=True)
    select = page.split(f'id="outcome-{item.id}"')[1].split("</select>")[0]
    first = re.search(r"<option([^>]*)>([^<]*)</option>", select)
    assert 'value=""' in first.group(1) and "selected" in first.group(1)
    assert first.group(2) == "请选择复核结果"
    assert "有误" in select  # still offered, not chosen for the organiser
    refused = organiser.post(f"/admin/rechecks/{round_id}/items/{item.id}",
                             {"outcome": "", "note": ""})
    assert refused.status_code == 422
    db_session.expire_all()
    assert db_session.get(RecheckItem, item.id).outcome.value == "pending"
