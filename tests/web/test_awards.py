"""Awards and certificates (issue 13 part 5), through the organiser's pages and the services.

The chemical preliminary's ladder (tests/whatif_setup.py) ranks its 159 contestants 1 to 159
with totals 74 − 0.15k (k = 0 … 158, A and B first and second): every count below is worked
out by hand from N = 159 eligible ranked contestants.
"""
from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from app.models import (
    AuditLog,
    Certificate,
    ComponentScore,
    Entry,
    EntryStatus,
    ResultRow,
    Stage,
    StageEntry,
    Track,
)
from tests.conftest import DEMO_PASSWORDS, Visitor
from tests.results_setup import confirmed_post
from tests.web.test_contest_configuration import stage_form

SHARES = {"awards-0-name": "一等奖", "awards-0-share": "10",
          "awards-1-name": "二等奖", "awards-1-share": "12",
          "awards-2-name": "三等奖", "awards-2-through": "50"}


@pytest.fixture
def ladder(app, db_session):
    """The preliminary's ladder stored (committed inside the test's transaction)."""
    from app.extensions import db
    from tests.whatif_setup import build_ladder

    with app.app_context():
        built = build_ladder()
        db.session.commit()
        return built.stage.id, list(built.order)


def _configure(organiser, db_session, stage_id: int, **fields):
    stage = db_session.get(Stage, stage_id)
    response = organiser.post(f"/admin/stages/{stage_id}", stage_form(stage, **fields))
    db_session.expire_all()
    return response


def _compute(app, stage_id: int, *, publish: bool = False) -> int:
    from app.extensions import db
    from app.services import accounts, results
    from tests.results_setup import recheck_and_publish

    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        version = results.create_version(db.session.get(Stage, stage_id), actor=organiser)
        if publish:
            recheck_and_publish(version, organiser)
        db.session.commit()
        return version.id


def _awarded(db_session, version_id: int) -> dict[int, str]:
    return dict(db_session.execute(sa.select(ResultRow.stage_entry_id, ResultRow.award).where(
        ResultRow.version_id == version_id, ResultRow.award.is_not(None))).all())


def _counts(awarded: dict) -> dict[str, int]:
    return pd.Series(list(awarded.values())).value_counts().to_dict()


# --- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rounding, expected", [
    # 10% of 159 = 15.9; 12% of 159 = 19.08; the top 50% of 159 = 79.5 places.
    ("half_up", {"一等奖": 16, "二等奖": 19, "三等奖": 80 - 35}),
    ("floor", {"一等奖": 15, "二等奖": 19, "三等奖": 79 - 34}),
    ("ceil", {"一等奖": 16, "二等奖": 20, "三等奖": 80 - 36}),
])
def test_prize_shares_become_places_by_the_stages_rounding_rule(
        app, signed_in, db_session, ladder, rounding, expected):
    stage_id, order = ladder
    organiser = signed_in("organiser")
    response = _configure(organiser, db_session, stage_id, award_rounding=rounding, **SHARES)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    stage = db_session.get(Stage, stage_id)
    assert stage.awards == [{"name": "一等奖", "share": "10"}, {"name": "二等奖", "share": "12"},
                            {"name": "三等奖", "through": "50"}]
    assert stage.award_rounding.value == rounding
    form = organiser.get(f"/admin/stages/{stage_id}").get_data(as_text=True)
    assert re.search(r'name="awards-1-share"[^>]*value="12"', form)
    assert re.search(r'name="awards-2-through"[^>]*value="50"', form)
    awarded = _awarded(db_session, _compute(app, stage_id))
    assert _counts(awarded) == expected
    # Best first, in rank order: the first prize goes to the top places.
    first = expected["一等奖"]
    assert {awarded[e] for e in order[:first]} == {"一等奖"}
    assert awarded[order[first]] == "二等奖"
    assert order[sum(expected.values())] not in awarded


@pytest.mark.parametrize("ties, first_prize", [("include", 17), ("exclude", 15)])
def test_a_tie_across_a_prize_boundary_gives_all_tied_the_same_prize(
        app, signed_in, db_session, ladder, ties, first_prize):
    stage_id, order = ladder
    # Positions 15 and 16 (ranks 16 and 17) made equal in every component: both rank 16, the
    # last place of 一等奖 (10% of 159 → 16 places, half up).
    codes = dict(db_session.execute(sa.text(
        "SELECT code, id FROM components WHERE stage_id = :s").bindparams(s=stage_id)).all())
    for score in db_session.scalars(sa.select(ComponentScore).where(
            ComponentScore.stage_entry_id == order[16])):
        score.points = Decimal("86.25") if score.component_id == codes["theory"] else Decimal(50)
    db_session.commit()
    organiser = signed_in("organiser")
    assert _configure(organiser, db_session, stage_id, award_ties=ties,
                      **{"awards-0-name": "一等奖", "awards-0-share": "10",
                         "awards-1-name": "二等奖", "awards-1-count": "5"}).status_code == 302
    version_id = _compute(app, stage_id)
    ranks = dict(db_session.execute(sa.select(ResultRow.stage_entry_id, ResultRow.rank).where(
        ResultRow.version_id == version_id)).all())
    assert ranks[order[15]] == ranks[order[16]] == 16
    awarded = _awarded(db_session, version_id)
    assert awarded[order[15]] == awarded[order[16]] == ("一等奖" if ties == "include" else "二等奖")
    # The second prize still ends at place 16 + 5 = 21.
    assert _counts(awarded) == {"一等奖": first_prize, "二等奖": 21 - first_prize}


def test_ineligible_contestants_take_no_award_and_the_next_eligible_moves_up(
        app, signed_in, db_session, ladder):
    stage_id, order = ladder
    b = db_session.get(StageEntry, order[1])  # B is ranked first
    b.entry.status = EntryStatus.REJECTED  # ranked but not eligible
    db_session.commit()
    organiser = signed_in("organiser")
    assert _configure(organiser, db_session, stage_id,
                      **{"awards-0-name": "一等奖", "awards-0-count": "2"}).status_code == 302
    version_id = _compute(app, stage_id)
    ranks = dict(db_session.execute(sa.select(ResultRow.stage_entry_id, ResultRow.rank).where(
        ResultRow.version_id == version_id)).all())
    assert ranks[order[1]] == 1
    awarded = _awarded(db_session, version_id)
    assert order[1] not in awarded
    assert awarded == {order[0]: "一等奖", order[2]: "一等奖"}


def test_award_settings_refused_with_the_reason_next_to_the_field(signed_in, db_session, ladder):
    stage_id, _order = ladder
    organiser = signed_in("organiser")
    response = _configure(organiser, db_session, stage_id, award_margin="-1", **{
        "awards-0-name": "一等奖", "awards-0-count": "3", "awards-0-share": "10",
        "awards-1-name": "二等奖", "awards-1-share": "120"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "名额人数、比例（%）、累计比例（%）三者须且只能填写一项。" in page
    assert "比例应大于0%且不超过100%。" in page
    assert "并列分差不能为负数。" in page
    assert db_session.get(Stage, stage_id).awards != [{"name": "一等奖", "count": 3}]


def test_the_api_reads_and_sets_share_tiers_rounding_ties_and_margin(
        client, api_token, db_session, ladder):
    stage_id, _order = ladder
    stage = db_session.get(Stage, stage_id)
    url = (f"/api/v1/contests/{stage.track.contest.code}/tracks/{stage.track.code}"
           f"/stages/{stage.seq}")
    headers = {"Authorization": f"Bearer {api_token('organiser')}"}
    body = {"awards": [{"name": "一等奖", "share": "10"}, {"name": "优胜奖", "through": 50}],
            "award_rounding": "floor", "award_ties": "exclude", "award_margin": "0.05"}
    response = client.patch(url, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["awards"] == [{"name": "一等奖", "share": "10"},
                              {"name": "优胜奖", "through": "50"}]
    assert (data["award_rounding"], data["award_ties"], data["award_margin"]) == (
        "floor", "exclude", "0.05")
    bad = client.patch(url, json={"awards": [{"name": "一等奖", "count": 2, "share": "10"}]},
                       headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["error"]["message"]
    db_session.expire_all()
    assert db_session.get(Stage, stage_id).award_rounding.value == "floor"


def test_copying_a_contest_copies_the_award_rule(app, db_session, ladder):
    from app.extensions import db
    from app.services import accounts, contests

    stage_id, _order = ladder
    with app.app_context():
        stage = db.session.get(Stage, stage_id)
        stage.awards = [{"name": "一等奖", "share": "10"}]
        stage.award_rounding, stage.award_ties = "ceil", "exclude"
        stage.award_margin = Decimal("0.5")
        copy = contests.copy_contest(stage.track.contest, {
            "code": "jstl-2026", "name": "2026年大赛", "year": 2026},
            actor=accounts.get_by_username("organiser"))
        db.session.commit()
        copied = db.session.scalar(sa.select(Stage).join(Track).where(
            Track.contest_id == copy.id, Track.code == "chem", Stage.seq == 1))
        assert copied.awards == [{"name": "一等奖", "share": "10"}]
        assert (copied.award_rounding.value, copied.award_ties.value, copied.award_margin) == (
            "ceil", "exclude", Decimal("0.5"))


# --- shown once published ----------------------------------------------------------------------

def test_the_award_is_hidden_from_contestant_contact_and_lookup_until_published(
        app, client, signed_in, db_session, ladder):
    stage_id, _order = ladder
    assert _configure(signed_in("organiser"), db_session, stage_id,
                      **{"awards-0-name": "优胜奖", "awards-0-through": "100"}).status_code == 302
    entry = db_session.get(Entry, 1)
    place = db_session.scalar(sa.select(StageEntry).where(
        StageEntry.entry_id == entry.id, StageEntry.stage_id == stage_id))
    assert place is not None

    def as_(username: str) -> Visitor:  # each person in a browser of their own
        person = Visitor(app.test_client())
        person.login(username, DEMO_PASSWORDS[username])
        return person

    def seen() -> dict[str, bool]:
        public = app.test_client()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                          public.get("/lookup").get_data(as_text=True)).group(1)
        lookup = public.post("/lookup", data={
            "csrf_token": token, "exam_number": entry.exam_number,
            "id_number": entry.contestant.id_number}).get_data(as_text=True)
        contestant = as_("contestant").get(f"/portal/entries/{entry.id}")
        contact = as_("contact").get("/portal/")
        assert contestant.status_code == contact.status_code == 200
        return {"contestant": "优胜奖" in contestant.get_data(as_text=True),
                "contact": "优胜奖" in contact.get_data(as_text=True),
                "lookup": "优胜奖" in lookup}

    version_id = _compute(app, stage_id)
    assert _awarded(db_session, version_id)[place.id] == "优胜奖"  # computed, in the draft
    organiser_page = signed_in("organiser").get(f"/admin/results/{version_id}")
    assert "优胜奖" in organiser_page.get_data(as_text=True)
    assert seen() == {"contestant": False, "contact": False, "lookup": False}
    from app.extensions import db
    from app.models import ResultsVersion
    from app.services import accounts
    from tests.results_setup import recheck_and_publish

    with app.app_context():
        recheck_and_publish(db.session.get(ResultsVersion, version_id),
                            accounts.get_by_username("organiser"))
        db.session.commit()
    assert seen() == {"contestant": True, "contact": True, "lookup": True}


# --- the winners' list -------------------------------------------------------------------------

def test_winners_list_is_grouped_by_award_in_the_unions_columns(
        app, signed_in, db_session, ladder):
    stage_id, order = ladder
    organiser = signed_in("organiser")
    assert _configure(organiser, db_session, stage_id, **{
        "awards-0-name": "一等奖", "awards-0-count": "2",
        "awards-1-name": "二等奖", "awards-1-share": "2"}).status_code == 302  # 3.18 → 3
    _compute(app, stage_id, publish=True)
    response = organiser.get(f"/admin/stages/{stage_id}/winners.xlsx")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "化工（生物医药）预赛获奖名单.xlsx"
    data = response.get_data()
    response.close()  # the export's temporary file goes, as a WSGI server closes it
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.title == "获奖名单"
    title = sheet.cell(1, 1).value
    assert "2025年江苏省班组长数字能力大赛" in title and "化工（生物医药）" in title \
        and "预赛" in title and "获奖名单" in title
    table = pd.read_excel(io.BytesIO(data), header=1, nrows=5, dtype={"准考证号": str},
                          engine="openpyxl")
    assert list(table.columns) == ["序号", "奖项", "准考证号", "姓名", "单位", "成绩", "名次"]
    assert table["奖项"].tolist() == ["一等奖"] * 2 + ["二等奖"] * 3
    assert table["序号"].tolist() == [1, 2, 1, 2, 3]
    assert table["名次"].tolist() == [1, 2, 3, 4, 5]
    # B first (84), then A (82), then the ladder's 74 − 0.15k from position 2 on.
    assert table["成绩"].tolist() == [84.0, 82.0, 73.7, 73.55, 73.4]
    exam_numbers = [db_session.get(StageEntry, order[k]).entry.exam_number for k in (1, 0, 2)]
    assert table["准考证号"].tolist()[:3] == exam_numbers
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "awards.export", AuditLog.stage_id == stage_id)) == 1


# --- certificates ------------------------------------------------------------------------------

@pytest.fixture
def awarded_stage(app, signed_in, db_session, ladder):
    """The ladder published with 一等奖 to the top 2 and 二等奖 to the next 3."""
    stage_id, order = ladder
    assert _configure(signed_in("organiser"), db_session, stage_id, **{
        "awards-0-name": "一等奖", "awards-0-count": "2",
        "awards-1-name": "二等奖", "awards-1-count": "3"}).status_code == 302
    _compute(app, stage_id, publish=True)
    return stage_id, order


def _certificates(db_session, stage_id: int) -> list[Certificate]:
    db_session.expire_all()
    return db_session.scalars(sa.select(Certificate).where(Certificate.stage_id == stage_id)
                              .order_by(Certificate.seq)).all()


def test_certificates_are_issued_once_per_award_holder_with_unique_numbers(
        signed_in, db_session, awarded_stage):
    stage_id, order = awarded_stage
    organiser = signed_in("organiser")
    assert organiser.post(f"/admin/stages/{stage_id}/certificates/issue").status_code == 302
    first = _certificates(db_session, stage_id)
    assert [c.number for c in first] == [f"JSTL-2025-01-000{n}" for n in range(1, 6)]
    assert [c.stage_entry_id for c in first] == [order[1], order[0], order[2], order[3],
                                                 order[4]]
    assert [c.award for c in first] == ["一等奖"] * 2 + ["二等奖"] * 3
    # Issuing again adds nothing.
    again = organiser.post(f"/admin/stages/{stage_id}/certificates/issue",
                           follow_redirects=True).get_data(as_text=True)
    assert "所有获奖者均已有证书，未新颁发。" in again
    assert len(_certificates(db_session, stage_id)) == 5
    page = organiser.get(f"/admin/stages/{stage_id}/certificates").get_data(as_text=True)
    states = re.findall(r'class="certificate-state">([^<]+)<', page)
    assert states == ["有效"] * 5


def test_a_revoked_certificate_number_is_never_given_again(signed_in, db_session, awarded_stage):
    stage_id, _order = awarded_stage
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{stage_id}/certificates/issue")
    revoked = _certificates(db_session, stage_id)[4]
    response = confirmed_post(organiser, f"/admin/certificates/{revoked.id}/revoke",
                              {"reason": "成绩复核更正"})
    assert response.status_code == 302
    organiser.post(f"/admin/stages/{stage_id}/certificates/issue")
    after = _certificates(db_session, stage_id)
    numbers = [c.number for c in after]
    assert len(numbers) == len(set(numbers)) == 6
    reissued = after[5]
    assert reissued.stage_entry_id == revoked.stage_entry_id
    assert reissued.number == "JSTL-2025-01-0006" and revoked.number == "JSTL-2025-01-0005"
    assert after[4].revoked and not reissued.revoked


def test_revocation_needs_a_reason_is_audited_and_the_certificate_cannot_be_printed(
        signed_in, db_session, awarded_stage):
    stage_id, _order = awarded_stage
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{stage_id}/certificates/issue")
    certificate = _certificates(db_session, stage_id)[0]
    assert organiser.get(f"/admin/certificates/{certificate.id}/print").status_code == 200
    refused = organiser.post(f"/admin/certificates/{certificate.id}/revoke", {"reason": "  "})
    assert refused.status_code == 422
    assert "请填写撤销证书的原因。" in refused.get_data(as_text=True)
    assert not _certificates(db_session, stage_id)[0].revoked
    asked = organiser.post(f"/admin/certificates/{certificate.id}/revoke",
                           {"reason": "获奖者资格经核实不符"}).get_data(as_text=True)
    assert "撤销证书" in asked and "获奖者资格经核实不符" in asked
    assert not _certificates(db_session, stage_id)[0].revoked  # asked, nothing done yet
    assert confirmed_post(organiser, f"/admin/certificates/{certificate.id}/revoke",
                          {"reason": "获奖者资格经核实不符"}).status_code == 302
    record = db_session.scalar(sa.select(AuditLog).where(
        AuditLog.action == "certificate.revoke", AuditLog.object_id == certificate.id))
    assert record is not None and record.reason == "获奖者资格经核实不符"
    assert record.actor_name == "organiser" and certificate.number in record.summary
    printed = organiser.get(f"/admin/certificates/{certificate.id}/print", follow_redirects=True)
    assert f"证书 {certificate.number} 已撤销，不能打印。" in printed.get_data(as_text=True)
    every = organiser.get(f"/admin/stages/{stage_id}/certificates/print").get_data(as_text=True)
    assert certificate.number not in every and every.count('class="certificate"') == 4
    twice = organiser.post(f"/admin/certificates/{certificate.id}/revoke", {"reason": "再次"})
    assert twice.status_code == 409
    assert f"证书 {certificate.number} 已撤销。" in twice.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "certificate.revoke")) == 1


def test_the_print_view_puts_each_certificate_on_its_own_page_with_a_qr_code(
        signed_in, db_session, awarded_stage):
    stage_id, order = awarded_stage
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{stage_id}/certificates/issue")
    page = organiser.get(f"/admin/stages/{stage_id}/certificates/print").get_data(as_text=True)
    assert page.count('class="certificate"') == 5
    assert page.count("<svg") == 5 and "http://localhost/verify/JSTL-2025-01-0001" in page
    holder = db_session.get(StageEntry, order[1]).entry.contestant.name
    first = page.split('class="certificate"')[1]
    for text in (holder, "一等奖", "化工（生物医药）", "预赛", "江苏省总工会",
                 "证书编号：JSTL-2025-01-0001", "2025年江苏省班组长数字能力大赛"):
        assert text in first
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", first)
    css = (Path(__file__).parents[2] / "app/static/css/app.css").read_text(encoding="utf-8")
    assert ".certificate + .certificate { margin-top: 0; break-before: page;" in css


def test_the_verification_page_for_a_valid_an_unknown_and_a_revoked_number(
        client, signed_in, db_session, awarded_stage):
    stage_id, order = awarded_stage
    organiser = signed_in("organiser")
    organiser.post(f"/admin/stages/{stage_id}/certificates/issue")
    certificate = _certificates(db_session, stage_id)[0]
    name = db_session.get(StageEntry, order[1]).entry.contestant.name
    masked = name[0] + "*" * (len(name) - 2) + name[-1] if len(name) > 2 else name[0] + "*"
    valid = client.get(f"/verify/{certificate.number}")
    page = valid.get_data(as_text=True)
    assert valid.status_code == 200
    assert f"证书 {certificate.number} 真实有效。" in page
    assert masked in page and name not in page
    assert "一等奖" in page and "2025年江苏省班组长数字能力大赛" in page and "化工（生物医药）" in page
    unknown = client.get("/verify/JSTL-2025-01-9999")
    assert unknown.status_code == 404
    assert "未找到该证书" in unknown.get_data(as_text=True)
    confirmed_post(organiser, f"/admin/certificates/{certificate.id}/revoke", {"reason": "资格不符"})
    revoked = client.get(f"/verify/{certificate.number.lower()}").get_data(as_text=True)
    assert re.search(rf"证书 {certificate.number} 已于\d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}}撤销，不再有效。",
                     revoked)


@pytest.mark.parametrize("number", ["囧%00囧", "%E2%80%AE1", "x" * 200, "'; DROP TABLE certificates;--"])
def test_a_made_up_certificate_number_of_any_shape_is_simply_not_found(client, db_session, number):
    response = client.get(f"/verify/{number}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    # A control or format character in the address never reaches the view: the app's own 404.
    assert ("您访问的页面不存在" if "%" in number else "未找到该证书") in page


def test_unknown_certificate_numbers_are_rate_limited_per_address(client, db_session):
    codes = [client.get(f"/verify/JSTL-2025-01-{n:04d}").status_code for n in range(9000, 9031)]
    assert codes == [404] * 30 + [429]


@pytest.mark.parametrize("role", ["judge1", "chief", "contestant", "contact"])
def test_only_organisers_issue_print_or_revoke_certificates(
        app, signed_in, db_session, awarded_stage, role):
    stage_id, _order = awarded_stage
    signed_in("organiser").post(f"/admin/stages/{stage_id}/certificates/issue")
    certificate = _certificates(db_session, stage_id)[0]
    other = Visitor(app.test_client())  # a browser of their own
    other.login(role, DEMO_PASSWORDS[role])
    assert other.post(f"/admin/stages/{stage_id}/certificates/issue").status_code == 403
    assert other.post(f"/admin/certificates/{certificate.id}/revoke",
                      {"reason": "x"}).status_code == 403
    assert other.get(f"/admin/certificates/{certificate.id}/print").status_code == 403
    assert other.get(f"/admin/stages/{stage_id}/winners.xlsx").status_code == 403
    assert len(_certificates(db_session, stage_id)) == 5
    assert not _certificates(db_session, stage_id)[0].revoked


def test_certificates_need_published_awards(signed_in, db_session, ladder):
    stage_id, _order = ladder
    response = signed_in("organiser").post(f"/admin/stages/{stage_id}/certificates/issue")
    assert response.status_code == 409
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0

