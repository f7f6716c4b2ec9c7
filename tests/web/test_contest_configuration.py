"""The organiser console's configuration pages: what an organiser sees and what is saved."""
import re
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from app.models import (
    AuditLog,
    Component,
    Contest,
    Entry,
    MarkingItem,
    Sitting,
    Stage,
    StageEntry,
    Track,
)


def chem_stage(session, seq: int) -> Stage:
    session.expire_all()  # read what the requests committed, not what this session cached
    return session.scalar(sa.select(Stage).join(Track).join(Contest).where(
        Contest.code == "jstl-2025", Track.code == "chem", Stage.seq == seq))


def error_at(page: str, field_id: str) -> str:
    """The message shown next to a field (the element the field's aria-describedby names)."""
    match = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>(.*?)</div>', page, re.S)
    assert match, f"no error shown next to {field_id}"
    return match.group(1).strip()


def stage_form(stage: Stage, **changes) -> dict:
    """Every field of the stage settings form as the page would post it."""
    data = {
        "kind": stage.kind.value, "name": stage.name,
        "starts_on": stage.starts_on.isoformat() if stage.starts_on else "",
        "ends_on": stage.ends_on.isoformat() if stage.ends_on else "",
        "registration_opens_at": "", "registration_closes_at": "",
        "quota": stage.quota or "", "review_pool": stage.review_pool or "",
        "per_enterprise_cap": stage.per_enterprise_cap or "",
        "cutoff_tie_policy": stage.cutoff_tie_policy.value, "notice_days": stage.notice_days,
        "decimals": stage.decimals, "standardisation": stage.standardisation.value,
        "recheck_top": stage.recheck_top, "recheck_percent": "15", "recheck_error_percent": "5",
        "appeal_window_minutes": stage.appeal_window_minutes, "min_age": 18, "max_age": 60,
        "min_years_as_leader": "2",
    }
    for i, link in enumerate(stage.tie_breaks):
        data[f"tie_breaks-{i}-key"] = link["key"]
        data[f"tie_breaks-{i}-direction"] = link["direction"]
    data.update(changes)
    return data


# ---------------------------------------------------------------------------------------------
# Contests and copying


def test_contest_list_offers_a_new_contest_and_a_copy_of_each(signed_in, db_session):
    demo = db_session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
    page = signed_in("organiser").get("/admin/contests").get_data(as_text=True)
    assert "2025年江苏省班组长数字能力大赛" in page
    assert 'href="/admin/contests/new"' in page and "新建赛事" in page
    assert f'href="/admin/contests/{demo.id}/copy"' in page


def test_organiser_copies_the_demo_contest_for_next_year(signed_in, db_session):
    demo = db_session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
    organiser = signed_in("organiser")
    form = organiser.get(f"/admin/contests/{demo.id}/copy").get_data(as_text=True)
    assert 'value="jstl-2026"' in form and 'value="2026年江苏省班组长数字能力大赛"' in form
    response = organiser.post(f"/admin/contests/{demo.id}/copy", {
        "code": "jstl-2026", "name": "2026年江苏省班组长数字能力大赛", "year": "2026"})
    assert response.status_code == 302
    copy = db_session.scalar(sa.select(Contest).where(Contest.code == "jstl-2026"))
    assert response.location.endswith(f"/admin/contests/{copy.id}")
    page = organiser.get(response.location).get_data(as_text=True)
    assert "已由 jstl-2025 复制出赛事 jstl-2026" in page
    assert page.count("/admin/tracks/") >= 7 and "化工（生物医药）" in page
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
        Entry.contest_id == copy.id)) == 0
    stages = db_session.scalars(sa.select(Stage).join(Track).where(Track.contest_id == copy.id))
    assert {s.status.value for s in stages} == {"draft"}
    audit = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "contest.copy"))
    assert audit.actor_name == "organiser" and audit.after["components"] == 17


def test_a_copy_with_a_taken_code_is_refused_next_to_the_code(signed_in, db_session):
    demo = db_session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
    response = signed_in("organiser").post(f"/admin/contests/{demo.id}/copy", {
        "code": "jstl-2025", "name": "x", "year": "2026"})
    assert response.status_code == 422  # refused: the form again
    page = response.get_data(as_text=True)
    assert error_at(page, "code") == "代码 jstl-2025 已被其他赛事使用。"
    assert 'aria-invalid="true"' in page


def test_organiser_sets_up_a_contest_track_ability_and_stage_from_scratch(signed_in, db_session):
    organiser = signed_in("organiser")
    response = organiser.post("/admin/contests/new", {
        "code": "weld-2026", "name": "2026年焊工技能大赛", "year": "2026",
        "exam_number_pattern": "{year}{track_no:02d}{seq:04d}"})
    contest = db_session.scalar(sa.select(Contest).where(Contest.code == "weld-2026"))
    assert response.status_code == 302 and contest is not None
    response = organiser.post(f"/admin/contests/{contest.id}/tracks/new", {
        "code": "arc", "name": "电弧焊", "number": "1", "host_union": "省机冶石化工会",
        "co_hosts": "甲公司\n乙公司"})
    track = db_session.scalar(sa.select(Track).where(Track.contest_id == contest.id))
    assert response.status_code == 302 and track.co_hosts == "甲公司\n乙公司"
    assert organiser.post(f"/admin/contests/{contest.id}/abilities/new", {
        "code": "safety", "name": "安全意识"}).status_code == 302
    page = organiser.get(f"/admin/contests/{contest.id}").get_data(as_text=True)
    assert "安全意识" in page and "电弧焊" in page
    response = organiser.post(f"/admin/tracks/{track.id}/stages/new", {
        "kind": "preliminary", "name": "预赛", "starts_on": "2026-07-01", "ends_on": "2026-07-02",
        "cutoff_tie_policy": "break", "standardisation": "none", "notice_days": "7",
        "decimals": "2", "recheck_top": "10", "recheck_percent": "15",
        "recheck_error_percent": "5", "appeal_window_minutes": "120",
        "registration_opens_at": "2026-06-01T09:00", "registration_closes_at": "2026-06-30T17:00"})
    assert response.status_code == 302, response.get_data(as_text=True)
    stage = db_session.scalar(sa.select(Stage).where(Stage.track_id == track.id))
    # Entered in Beijing time, stored in UTC.
    assert stage.registration_closes_at == datetime(2026, 6, 30, 9)
    assert stage.recheck_fraction == Decimal("0.15")
    form = organiser.get(f"/admin/stages/{stage.id}").get_data(as_text=True)
    assert 'value="2026-06-30T17:00"' in form


def test_new_contest_form_shows_chinese_errors_next_to_fields(signed_in):
    response = signed_in("organiser").post("/admin/contests/new", {
        "code": "bad code!", "name": "", "year": "1999", "exam_number_pattern": "{seq}"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422  # refused: the form again
    assert "代码由1至40个字母" in error_at(page, "code")
    assert error_at(page, "name") == "该字段是必填字段。"
    assert error_at(page, "year") == "年份不能小于2000。"
    assert "{track_no}" in error_at(page, "exam_number_pattern")


# ---------------------------------------------------------------------------------------------
# Stage settings


def test_stage_page_shows_its_settings_and_status(signed_in, db_session):
    stage = chem_stage(db_session, 2)
    page = signed_in("organiser").get(f"/admin/stages/{stage.id}").get_data(as_text=True)
    assert "进阶考核" in page and "草稿" in page
    assert "进入：报名中" in page
    assert 'name="quota"' in page and 'value="10"' in page
    assert re.search(r'<option selected value="practical">|<option value="practical" selected',
                     page)


def test_quota_of_zero_is_shown_next_to_the_quota(signed_in, db_session):
    stage = chem_stage(db_session, 1)
    response = signed_in("organiser").post(f"/admin/stages/{stage.id}",
                                           stage_form(stage, quota="0"))
    assert response.status_code == 422  # refused: the form again
    assert error_at(response.get_data(as_text=True), "quota") == "晋级名额不能小于1。"
    assert chem_stage(db_session, 1).quota == 60


def test_overlapping_windows_are_shown_next_to_their_fields(signed_in, db_session):
    organiser = signed_in("organiser")
    prelim = chem_stage(db_session, 1)
    page = organiser.post(f"/admin/stages/{prelim.id}", stage_form(
        prelim, registration_opens_at="2025-06-01T09:00",
        registration_closes_at="2025-07-01T09:00")).get_data(as_text=True)
    assert error_at(page, "registration_closes_at") == "报名最迟应在赛段开始时（2025-07-01）截止。"
    page = organiser.post(f"/admin/stages/{prelim.id}", stage_form(
        prelim, registration_opens_at="2025-06-30T09:00",
        registration_closes_at="2025-06-01T09:00")).get_data(as_text=True)
    assert error_at(page, "registration_closes_at") == "报名截止时间必须晚于开始时间。"
    advanced = chem_stage(db_session, 2)
    page = organiser.post(f"/admin/stages/{advanced.id}", stage_form(
        advanced, starts_on="2025-07-05")).get_data(as_text=True)
    assert error_at(page, "starts_on") == (
        "日期与上一赛段“预赛”（至2025-07-08）重叠：本赛段须在其结束后开始。")


def test_saving_stage_settings_is_audited(signed_in, db_session):
    stage = chem_stage(db_session, 1)
    response = signed_in("organiser").post(f"/admin/stages/{stage.id}", stage_form(
        stage, quota="50", per_enterprise_cap="4", **{"awards-0-name": "一等奖",
                                                       "awards-0-count": "5"}))
    assert response.status_code == 302
    stage = chem_stage(db_session, 1)
    assert (stage.quota, stage.per_enterprise_cap) == (50, 4)
    assert stage.awards == [{"name": "一等奖", "count": 5}]
    audit = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "stage.update"))
    assert audit.before["quota"] == 60 and audit.after["quota"] == 50


def test_stage_moves_on_to_registration_but_not_past_its_readiness(signed_in, db_session):
    organiser = signed_in("organiser")
    final = chem_stage(db_session, 3)
    organiser.post(f"/admin/stages/{final.id}/status", {"status": "registration"})
    assert chem_stage(db_session, 3).status.value == "registration"
    page = organiser.get(f"/admin/stages/{final.id}").get_data(as_text=True)
    assert "赛段“全省总决赛”现为：报名中。" in page
    organiser.post(f"/admin/stages/{final.id}/status", {"status": "scoring"})
    page = organiser.get(f"/admin/stages/{final.id}").get_data(as_text=True)
    assert "赛段尚不能进入“评分中”：本赛段还没有考核模块。" in page
    assert chem_stage(db_session, 3).status.value == "registration"


# ---------------------------------------------------------------------------------------------
# Components and weights


def components_form(stage: Stage, **changes) -> dict:
    data = {}
    for i, c in enumerate(stage.components):
        for name in ("code", "name", "kind", "source", "aggregation"):
            data[f"components-{i}-{name}"] = getattr(getattr(c, name), "value", getattr(c, name))
        data[f"components-{i}-id"] = str(c.id)
        data[f"components-{i}-weight"] = str(c.weight)
        data[f"components-{i}-maximum"] = str(c.maximum)
        data[f"components-{i}-min_judges"] = str(c.min_judges)
        for name in ("disagreement_threshold", "time_limit_minutes",
                     "overrun_deduction_per_minute", "overrun_disqualify_after_minutes"):
            value = getattr(c, name)
            data[f"components-{i}-{name}"] = "" if value is None else str(value)
    data.update(changes)
    return data


def test_components_page_shows_the_weights_and_their_total(signed_in, db_session):
    stage = chem_stage(db_session, 2)
    page = signed_in("organiser").get(f"/admin/stages/{stage.id}/components").get_data(
        as_text=True)
    assert 'id="weight-total"' in page and ">100%</output>" in page
    assert 'value="35"' in page and "实操考试（特殊作业）" in page
    assert "js/weights.js" in page and "<script>" not in page


def test_weights_of_95_are_refused_next_to_the_total(signed_in, db_session):
    stage = chem_stage(db_session, 2)
    response = signed_in("organiser").post(f"/admin/stages/{stage.id}/components",
                                           components_form(stage, **{"components-1-weight": "30"}))
    assert response.status_code == 422  # refused: the form again
    page = response.get_data(as_text=True)
    assert error_at(page, "weight_total").startswith("权重合计必须为100%，当前为95%")
    assert ">95%</output>" in page
    assert chem_stage(db_session, 2).components[1].weight == Decimal("35")


def test_a_negative_component_maximum_is_refused_next_to_it(signed_in, db_session):
    stage = chem_stage(db_session, 2)
    page = signed_in("organiser").post(f"/admin/stages/{stage.id}/components", components_form(
        stage, **{"components-0-maximum": "-5"})).get_data(as_text=True)
    assert error_at(page, "components-0-maximum") == "满分必须大于0。"


def test_weights_are_saved_together_with_a_new_component(signed_in, db_session):
    stage = chem_stage(db_session, 2)
    n = len(stage.components)
    response = signed_in("organiser").post(f"/admin/stages/{stage.id}/components", components_form(
        stage, **{"components-0-weight": "20", f"components-{n}-code": "interview",
                  f"components-{n}-name": "答辩", f"components-{n}-kind": "other",
                  f"components-{n}-source": "judges", f"components-{n}-aggregation": "median",
                  f"components-{n}-weight": "10", f"components-{n}-maximum": "20",
                  f"components-{n}-min_judges": "3"}))
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    weights = {c.code: c.weight for c in chem_stage(db_session, 2).components}
    assert weights == {"theory": Decimal("20"), "practical": Decimal("35"),
                       "twin": Decimal("35"), "interview": Decimal("10")}


# ---------------------------------------------------------------------------------------------
# Marking schemes


def practical(session) -> Component:
    return next(c for c in chem_stage(session, 2).components if c.code == "practical")


def test_marking_scheme_page_shows_the_tree_and_the_running_total(signed_in, db_session):
    component = practical(db_session)
    page = signed_in("organiser").get(f"/admin/components/{component.id}/scheme").get_data(
        as_text=True)
    assert "评分项满分合计100分，模块满分100分。" in page and "已配平。" in page
    assert page.index("作业前准备") < page.index("办理动火作业许可证") < page.index("特殊作业实施")
    assert "Σ 40" in page and "每次扣2分" in page and "职业素养" in page


def test_an_item_maximum_below_zero_is_shown_next_to_the_maximum(signed_in, db_session):
    component = practical(db_session)
    parent = next(i for i in component.items if i.code == "A")
    response = signed_in("organiser").post(
        f"/admin/components/{component.id}/scheme/new?parent={parent.id}", {
            "node": "item", "parent_id": str(parent.id), "code": "A4", "title": "气体检测仪校验",
            "kind": "measurement", "maximum": "-1", "ability_id": "", "disqualify_scope": ""})
    assert response.status_code == 422  # refused: the form again
    assert error_at(response.get_data(as_text=True), "maximum") == "评分项满分不能小于0。"


def test_a_deduction_item_without_its_amount_is_refused(signed_in, db_session):
    component = practical(db_session)
    parent = next(i for i in component.items if i.code == "C")
    page = signed_in("organiser").post(f"/admin/components/{component.id}/scheme/new", {
        "node": "item", "parent_id": str(parent.id), "code": "C3", "title": "工具乱放",
        "kind": "deduction", "maximum": "5", "ability_id": "", "disqualify_scope": ""}).get_data(
        as_text=True)
    assert error_at(page, "deduction_per_occurrence") == "扣分项须填写每次扣分值。"


def test_adding_and_deleting_items_updates_the_total(signed_in, db_session):
    organiser = signed_in("organiser")
    component = practical(db_session)
    parent = next(i for i in component.items if i.code == "C")
    ability = next(a for a in component.stage.track.contest.abilities if a.code == "digital")
    response = organiser.post(f"/admin/components/{component.id}/scheme/new", {
        "node": "item", "parent_id": str(parent.id), "code": "C3", "title": "工具乱放（每处）",
        "kind": "deduction", "maximum": "5", "deduction_per_occurrence": "1",
        "ability_id": str(ability.id), "disqualify_scope": ""})
    assert response.status_code == 302
    page = organiser.get(f"/admin/components/{component.id}/scheme").get_data(as_text=True)
    assert "评分项满分合计105分" in page and "多出5分。" in page
    item = db_session.scalar(sa.select(MarkingItem).where(MarkingItem.component_id == component.id,
                                                          MarkingItem.code == "C3"))
    assert item.ability_id == ability.id and item.deduction_per_occurrence == Decimal("1")
    organiser.post(f"/admin/marking-items/{item.id}/delete")
    page = organiser.get(f"/admin/components/{component.id}/scheme").get_data(as_text=True)
    assert "已配平。" in page
    assert db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "scheme.delete"))


def test_editing_an_item_keeps_its_descriptors(signed_in, db_session):
    component = practical(db_session)
    item = next(i for i in component.items if i.code == "A3")
    organiser = signed_in("organiser")
    form = organiser.get(f"/admin/marking-items/{item.id}").get_data(as_text=True)
    assert 'value="交底完整、分工明确、确认到人"' in form
    response = organiser.post(f"/admin/marking-items/{item.id}", {
        "node": "item", "parent_id": str(item.parent_id), "code": "A3", "title": "班组安全交底",
        "kind": "judgement", "maximum": "15", "ability_id": str(item.ability_id),
        "descriptor_0": "未交底", "descriptor_1": "不完整", "descriptor_2": "基本明确",
        "descriptor_3": "明确到人", "disqualify_scope": ""})
    assert response.status_code == 302
    db_session.expire_all()
    item = db_session.get(MarkingItem, item.id)
    assert item.title == "班组安全交底" and item.descriptors["3"] == "明确到人"


# ---------------------------------------------------------------------------------------------
# Sittings


def test_sittings_are_added_assigned_and_shown_with_counts_per_enterprise(signed_in, db_session):
    organiser = signed_in("organiser")
    stage = chem_stage(db_session, 1)
    for name, hour in (("上午场", "09"), ("下午场", "14")):
        response = organiser.post(f"/admin/stages/{stage.id}/sittings", {
            "name": name, "venue": "南京化工园区", "room": "一号机房",
            "starts_at": f"2025-07-02T{hour}:00", "ends_at": f"2025-07-02T{int(hour) + 2}:00",
            "capacity": "100"})
        assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    response = organiser.post(f"/admin/stages/{stage.id}/sittings/assign", {"mode": "all"})
    assert response.status_code == 302
    page = organiser.get(f"/admin/stages/{stage.id}/sittings").get_data(as_text=True)
    counts = db_session.execute(
        sa.select(Sitting.name, sa.func.count(StageEntry.id)).join(StageEntry)
        .where(Sitting.stage_id == stage.id).group_by(Sitting.name)).all()
    assert len(counts) == 2 and abs(counts[0][1] - counts[1][1]) <= 1
    assert re.search(r"已将\d+人分配到2个场次", page)
    assert 'id="unassigned-count">0<' in page
    assert "各单位人数" in page and "按考号列出的选手" in page


def test_a_move_into_a_full_sitting_is_refused_next_to_the_sitting(signed_in, db_session):
    organiser = signed_in("organiser")
    stage = chem_stage(db_session, 1)
    organiser.post(f"/admin/stages/{stage.id}/sittings", {
        "name": "小考场", "capacity": "1", "starts_at": "2025-07-03T09:00",
        "ends_at": "2025-07-03T10:00"})
    small = db_session.scalar(sa.select(Sitting).where(Sitting.stage_id == stage.id))
    numbers = db_session.scalars(sa.select(Entry.exam_number).join(Track).where(
        Track.code == "chem", Entry.exam_number.is_not(None)).order_by(Entry.exam_number)).all()
    assert organiser.post(f"/admin/stages/{stage.id}/sittings/move", {
        "exam_number": numbers[0], "sitting_id": str(small.id)}).status_code == 302
    response = organiser.post(f"/admin/stages/{stage.id}/sittings/move", {
        "exam_number": numbers[1], "sitting_id": str(small.id)})
    assert response.status_code == 409  # the sitting is full: the form again
    assert error_at(response.get_data(as_text=True), "sitting_id") == (
        "场次小考场已满（1个座位已全部占用）。")
    page = organiser.post(f"/admin/stages/{stage.id}/sittings/move", {
        "exam_number": "0000", "sitting_id": ""}).get_data(as_text=True)
    assert error_at(page, "exam_number") == "本赛段没有考号为 0000 的选手。"


def test_a_sitting_ending_before_it_starts_is_refused(signed_in, db_session):
    stage = chem_stage(db_session, 1)
    response = signed_in("organiser").post(f"/admin/stages/{stage.id}/sittings", {
        "name": "晚场", "starts_at": "2025-07-02T19:00", "ends_at": "2025-07-02T18:00",
        "capacity": "0"})
    page = response.get_data(as_text=True)
    assert error_at(page, "ends_at") == "场次结束时间必须晚于开始时间。"
    assert error_at(page, "capacity") == "容量不能小于1。"


def test_bad_input_never_gives_a_server_error(signed_in, db_session):
    organiser = signed_in("organiser")
    stage = chem_stage(db_session, 2)
    component = practical(db_session)
    item = component.items[0]
    garbage = {"code": "x" * 300, "name": "\x00", "year": "abc", "number": "-1", "quota": "1e9",
               "decimals": "2.5", "starts_on": "2025-13-40", "registration_opens_at": "soon",
               "tie_breaks-0-key": "🙂", "tie_breaks-0-direction": "sideways",
               "awards-0-count": "many", "recheck_percent": "NaN", "kind": "nope",
               "components-0-id": "abc", "components-0-weight": "Infinity",
               "components-1-id": "999999", "components-1-code": "x",
               "node": "item", "parent_id": "abc", "maximum": "1e999", "ability_id": "x",
               "capacity": "-3", "starts_at": "2025-07-02T25:00", "exam_number": "' OR 1=1",
               "sitting_id": "abc", "mode": "everything", "status": "final", "direction": "up"}
    urls = [f"/admin/contests/{stage.track.contest_id}", "/admin/contests/new",
            f"/admin/contests/{stage.track.contest_id}/copy",
            f"/admin/contests/{stage.track.contest_id}/tracks/new",
            f"/admin/contests/{stage.track.contest_id}/abilities/new",
            f"/admin/tracks/{stage.track_id}", f"/admin/tracks/{stage.track_id}/stages/new",
            f"/admin/stages/{stage.id}", f"/admin/stages/{stage.id}/status",
            f"/admin/stages/{stage.id}/move", f"/admin/stages/{stage.id}/components",
            f"/admin/components/{component.id}/scheme/new?parent=abc",
            f"/admin/marking-items/{item.id}", f"/admin/marking-items/{item.id}/move",
            f"/admin/stages/{stage.id}/sittings", f"/admin/stages/{stage.id}/sittings/assign",
            f"/admin/stages/{stage.id}/sittings/move"]
    for url in urls:
        response = organiser.post(url, garbage)
        assert response.status_code < 500, url


def test_pages_and_their_options_follow_the_chosen_language(signed_in, db_session):
    organiser = signed_in("organiser")
    stage = chem_stage(db_session, 2)
    item = next(i for i in practical(db_session).items if i.code == "C2")
    page = organiser.get(f"/admin/marking-items/{item.id}").get_data(as_text=True)
    assert "整个参赛资格" in page and "评价（0–3级）" in page
    organiser.get(f"/lang/en?next=/admin/stages/{stage.id}")
    page = organiser.get(f"/admin/stages/{stage.id}").get_data(as_text=True)
    assert "Broken by the tie-break chain" in page and "Tie-break chain, in order" in page
    for url in ["/admin/contests", f"/admin/contests/{stage.track.contest_id}",
                f"/admin/stages/{stage.id}/components", f"/admin/stages/{stage.id}/sittings",
                f"/admin/components/{item.component_id}/scheme", f"/admin/tracks/{stage.track_id}"]:
        assert organiser.get(url).status_code == 200, url


def test_the_new_contest_page_offers_the_templates(signed_in, db_session):
    organiser = signed_in("organiser")
    demo = db_session.scalar(sa.select(Contest).where(Contest.code == "jstl-2025"))
    organiser.post(f"/admin/contests/{demo.id}/copy", {
        "code": "tpl", "name": "班组长大赛模板", "year": "2026", "is_template": "y"})
    template = db_session.scalar(sa.select(Contest).where(Contest.code == "tpl"))
    assert template.is_template
    page = organiser.get("/admin/contests/new").get_data(as_text=True)
    assert "从模板开始：" in page and f'href="/admin/contests/{template.id}/copy"' in page


def test_a_component_chooses_how_judgement_items_are_combined_in_chinese(signed_in, db_session):
    stage = chem_stage(db_session, 2)
    organiser = signed_in("organiser")
    page = organiser.get(f"/admin/stages/{stage.id}/components").get_data(as_text=True)
    assert "评价项汇总方式" in page and "先合计每位裁判的评分表，再汇总各裁判总分" in page
    assert "按评价项：各裁判等级取平均后折算，只舍入一次（世界技能大赛方式）" in page
    practical = next(i for i, c in enumerate(stage.components) if c.code == "practical")
    organiser.post(f"/admin/stages/{stage.id}/components", components_form(
        stage, **{f"components-{practical}-judgement_order": "per_item"}))
    db_session.expire_all()
    assert chem_stage(db_session, 2).components[practical].judgement_order.value == "per_item"
