"""Registration rules: the entry's fields, one entry per person per contest, the review chain,
exam numbers, who sees which entries."""
from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Contest, Entry, EntryStatus, Role, StageEntry, Track, User
from app.services import FieldErrors, ServiceError, accounts
from app.services import entries as entry_service
from tests.conftest import valid_id_number

pytestmark = pytest.mark.usefixtures("app_ctx")


def track(code: str = "steel") -> Track:
    return db.session.scalar(sa.select(Track).join(Contest).where(
        Contest.code == "jstl-2025", Track.code == code))


def user(username: str) -> User:
    return accounts.get_by_username(username)


def new_contestant(username: str = "zhang3") -> User:
    return accounts.create_user(username, "张三", Role.CONTESTANT, "Zhang3pass", phone="13900000001")


def fields(**overrides) -> dict:
    values = {"name": "张三", "gender": "男", "id_number": valid_id_number(date(1985, 5, 20)),
              "phone": "13900000001", "enterprise": "南京钢铁股份有限公司",
              "enterprise_category": "钢铁", "city": "南京市", "post": "炼钢一班班长",
              "team_name": "甲班", "years_as_leader": "6", "skill_level": "技师",
              "honours": "", "front_line": True}
    return {**values, **overrides}


def test_contestant_registers_and_the_entry_is_submitted_with_history():
    person = new_contestant()
    entry = entry_service.register(person, track(), fields())
    assert entry.status == EntryStatus.SUBMITTED
    assert entry.contestant.user_id == person.id
    assert entry.enterprise.name == "南京钢铁股份有限公司"
    assert [step.to_status for step in entry.history] == [EntryStatus.SUBMITTED]


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"name": "  "}, "name", "必填"),
    ({"id_number": "32010219850520001"}, "id_number", "18位"),
    ({"id_number": "320102198505200019"}, "id_number", "校验位"),
    ({"id_number": 3.20102198505200e17}, "id_number", "末几位已丢失"),
    ({"gender": "女"}, "gender", "性别与身份证号不符"),
    ({"id_number": valid_id_number(date(2010, 1, 1))}, "id_number", "低于最低年龄18岁"),
    ({"id_number": valid_id_number(date(1960, 1, 1))}, "id_number", "超过最高年龄60岁"),
    ({"phone": "1390000000"}, "phone", "11位"),
    ({"years_as_leader": "1.5"}, "years_as_leader", "不少于2年"),
    ({"years_as_leader": "-1"}, "years_as_leader", "不能小于0"),
    ({"years_as_leader": "五年"}, "years_as_leader", "请输入数字"),
    ({"front_line": False}, "front_line", "一线岗位"),
])
def test_each_bad_field_is_named_with_its_reason_in_chinese(overrides, field, words):
    with pytest.raises(FieldErrors) as caught:
        entry_service.register(new_contestant(), track(), fields(**overrides))
    assert field in caught.value.errors
    assert words in caught.value.errors[field]


def test_several_bad_fields_are_reported_together():
    with pytest.raises(FieldErrors) as caught:
        entry_service.register(new_contestant(), track(), fields(phone="x", post="", name=""))
    assert {"phone", "post", "name"} <= set(caught.value.errors)


def test_lowercase_x_and_full_width_digits_are_accepted():
    number = valid_id_number(date(1985, 5, 20))
    while not number.endswith("X"):  # find a number whose check digit is X
        number = valid_id_number(date(1985, 5, 20), seq=int(number[15]) + 1)
    typed = "".join(chr(ord(c) + 0xFEE0) for c in number[:10]) + number[10:].lower()
    entry = entry_service.register(new_contestant(), track(), fields(id_number=typed))
    assert entry.contestant.id_number == number


def test_one_person_one_entry_per_contest():
    person = new_contestant()
    entry_service.register(person, track("steel"), fields())
    with pytest.raises(FieldErrors) as caught:
        entry_service.register(person, track("power"), fields())
    assert "每人限报一项" in caught.value.errors["id_number"]


def test_a_second_account_cannot_take_someone_elses_id_number():
    number = valid_id_number(date(1985, 5, 20))
    entry_service.register(new_contestant("first"), track(), fields(id_number=number))
    with pytest.raises(FieldErrors) as caught:
        entry_service.register(new_contestant("second"), track("power"), fields(id_number=number))
    assert "其他账号" in caught.value.errors["id_number"]


def test_registration_is_refused_when_the_window_is_closed():
    with pytest.raises(ServiceError) as caught:
        entry_service.register(new_contestant(), track("chem"), fields())
    assert "报名已截止" in caught.value.message


def test_enterprise_contact_registers_its_own_people_already_endorsed():
    contact = user("contact")
    entry = entry_service.register(contact, track(), fields(enterprise="另一家公司"))
    assert entry.enterprise_id == contact.enterprise_id  # the contact's enterprise, always
    assert entry.status == EntryStatus.ENDORSED
    assert entry.contestant.user_id is None


def test_review_chain_endorse_then_approve_issues_the_next_exam_number_and_first_stage():
    entry = entry_service.register(new_contestant(), track(), fields())
    organiser = user("organiser")
    with pytest.raises(ServiceError, match="须先由单位联系人（或组委会）推荐"):
        entry_service.review(entry, "approve", organiser)  # not endorsed yet: the reason says so
    entry_service.review(entry, "endorse", organiser)
    last = db.session.scalar(sa.select(sa.func.max(Entry.exam_number))
                             .where(Entry.track_id == entry.track_id))
    entry_service.review(entry, "approve", organiser)
    assert entry.status == EntryStatus.APPROVED
    assert int(entry.exam_number) == int(last) + 1
    assert entry.exam_number.startswith("202502")  # year, then track number 2 (steel)
    stage_entry = db.session.scalar(sa.select(StageEntry).where(StageEntry.entry_id == entry.id))
    assert stage_entry.stage_id == entry.track.stages[0].id


def test_rejection_needs_a_reason_and_the_contestant_can_correct_and_resubmit():
    person = new_contestant()
    entry = entry_service.register(person, track(), fields())
    organiser = user("organiser")
    with pytest.raises(ServiceError) as caught:
        entry_service.review(entry, "reject", organiser, "  ")
    assert caught.value.field == "reason"
    entry_service.review(entry, "reject", organiser, "岗位填写不完整")
    assert entry.rejection_reason == "岗位填写不完整"
    entry_service.correct(person, entry, fields(post="炼钢一班班长（运行）"))
    assert entry.status == EntryStatus.SUBMITTED and entry.rejection_reason is None
    assert entry.post == "炼钢一班班长（运行）"
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "entry.correct",
                                                       AuditLog.object_id == entry.id))


def test_approved_entries_cannot_be_corrected():
    entry = db.session.get(Entry, 1)
    with pytest.raises(ServiceError):
        entry_service.correct(user("contestant"), entry, fields())


def test_enterprise_contact_may_endorse_only_its_own_enterprises_entries_and_never_approve():
    contact = user("contact")
    own = entry_service.register(new_contestant("own"), track(), fields(
        enterprise=contact.enterprise.name, id_number=valid_id_number(date(1980, 3, 3))))
    other = entry_service.register(new_contestant("other"), track("power"), fields())
    entry_service.review(own, "endorse", contact)
    assert own.status == EntryStatus.ENDORSED
    with pytest.raises(ServiceError, match="无权"):
        entry_service.review(other, "endorse", contact)
    with pytest.raises(ServiceError, match="只有赛道组织者"):
        entry_service.review(own, "approve", contact)


def test_bulk_review_applies_to_those_it_can_and_names_the_rest():
    submitted = db.session.scalars(sa.select(Entry.id).where(
        Entry.status == EntryStatus.SUBMITTED).limit(3)).all()
    approved = db.session.scalar(sa.select(Entry.id).where(Entry.status == EntryStatus.APPROVED))
    outcome = entry_service.review_many([*submitted, approved, 999999], "endorse",
                                        user("organiser"))
    assert outcome.done == sorted(submitted)
    assert {i for i, _reason in outcome.skipped} == {approved, 999999}
    for entry_id in submitted:
        assert db.session.get(Entry, entry_id).status == EntryStatus.ENDORSED


def test_exam_numbers_stay_unique_and_stable():
    numbers = db.session.scalars(sa.select(Entry.exam_number).where(
        Entry.exam_number.is_not(None))).all()
    assert len(numbers) == len(set(numbers))
    entry = db.session.get(Entry, 1)
    before = entry.exam_number
    from app.services.registration import issue_exam_number

    assert issue_exam_number(entry) == before


def test_each_role_sees_only_its_entries():
    def seen(username):
        return set(db.session.scalars(entry_service.visible_entries(user(username))
                                      .with_only_columns(Entry.id)))

    everyone = set(db.session.scalars(sa.select(Entry.id)))
    contact = user("contact")
    own_enterprise = set(db.session.scalars(sa.select(Entry.id).where(
        Entry.enterprise_id == contact.enterprise_id)))
    assert seen("organiser") == everyone
    assert seen("contact") == own_enterprise and len(own_enterprise) < len(everyone)
    assert seen("contestant") == {1}
    assert seen("judge1") == set()


def test_filters_search_by_name_exam_number_and_id_tail_and_count_by_status_city_category():
    entry = db.session.get(Entry, 1)
    for text in (entry.contestant.name, entry.exam_number, entry.contestant.id_number[-6:]):
        found = db.session.scalars(entry_service.EntryFilter(search=text).apply(
            sa.select(Entry))).all()
        assert entry in found, text
    query = entry_service.EntryFilter(track_id=entry.track_id).apply(sa.select(Entry))
    counts = entry_service.counts(query)
    assert sum(n for _status, n in counts["status"]) == 180
    assert sum(n for _city, n in counts["city"]) == 180
    assert dict(counts["category"]).keys() == {"化工", "生物医药"}


def test_revealing_a_full_id_number_is_audited_and_only_for_organisers():
    entry = db.session.get(Entry, 1)
    assert entry_service.reveal_id_number(entry, user("organiser")) == entry.contestant.id_number
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "entry.reveal_id"))
    with pytest.raises(ServiceError):
        entry_service.reveal_id_number(entry, user("contact"))
