"""Marking schemes: the tree, each item's rules, the running total, whole-scheme replacement."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Component, MarkingNode, ScoreSheet, StageEntry, Track, User
from app.services import FieldErrors, ServiceError
from app.services import marking_schemes as service

pytestmark = pytest.mark.usefixtures("app_ctx")


def practical() -> Component:
    return db.session.scalar(sa.select(Component).join(Component.stage).join(Track).where(
        Track.code == "chem", Component.code == "practical"))


def node(code: str):
    return next(i for i in practical().items if i.code == code)


def errors_of(call) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        call()
    return caught.value.errors


def test_the_demo_scheme_is_a_tree_with_running_totals():
    tree = service.scheme_tree(practical())
    assert [(n.item.code, n.total) for n in tree] == [
        ("A", Decimal("40")), ("B", Decimal("50")), ("C", Decimal("10"))]
    assert [n.item.code for n in tree[0].children] == ["A1", "A2", "A3"]
    assert service.items_total(practical()) == Decimal("100")
    assert service.scheme_problems(practical()) == []


def test_an_item_maximum_below_zero_is_refused():
    errors = errors_of(lambda: service.add_node(practical(), {
        "node": "item", "parent": node("A"), "code": "A4", "title": "x", "kind": "measurement",
        "maximum": "-2"}))
    assert errors == {"maximum": "评分项满分不能小于0。"}


def test_a_deduction_item_needs_its_points_per_occurrence():
    errors = errors_of(lambda: service.add_node(practical(), {
        "node": "item", "parent": node("C"), "code": "C3", "title": "工具摆放", "kind": "deduction",
        "maximum": "5"}))
    assert errors == {"deduction_per_occurrence": "扣分项须填写每次扣分值。"}


def test_item_settings_that_do_not_fit_its_kind_are_refused():
    errors = errors_of(lambda: service.add_node(practical(), {
        "node": "item", "parent": node("B"), "code": "B4", "title": "x", "kind": "judgement",
        "maximum": "5", "all_or_nothing": True, "deduction_per_occurrence": "1"}))
    assert set(errors) == {"all_or_nothing", "deduction_per_occurrence"}
    errors = errors_of(lambda: service.add_node(practical(), {
        "node": "item", "parent": node("C"), "code": "C3", "title": "x", "kind": "disqualifying",
        "maximum": "5"}))
    assert set(errors) == {"maximum"}


def test_nodes_sit_where_the_tree_allows():
    errors = errors_of(lambda: service.add_node(practical(), {
        "node": "criterion", "parent": node("A"), "code": "Z", "title": "x"}))
    assert set(errors) == {"parent"}
    errors = errors_of(lambda: service.add_node(practical(), {
        "node": "item", "parent": node("A1"), "code": "Z", "title": "x", "kind": "measurement",
        "maximum": 1}))
    assert set(errors) == {"parent"}
    assert "code" in errors_of(lambda: service.add_node(practical(), {
        "node": "criterion", "parent": None, "code": "A", "title": "重复"}))


def test_adding_a_sub_criterion_and_item_keeps_the_order_and_the_audit():
    component = practical()
    sub = service.add_node(component, {"node": "sub_criterion", "parent": node("B"),
                                       "code": "B9", "title": "应急处置"})
    ability = next(a for a in component.stage.track.contest.abilities if a.code == "problem-solving")
    item = service.add_node(component, {
        "node": "item", "parent": sub, "code": "B9.1", "title": "泄漏处置", "kind": "judgement",
        "maximum": "5", "ability": ability,
        "descriptors": {"0": "未处置", "1": "", "2": "基本正确", "3": "正确迅速"}})
    assert item.descriptors == {"0": "未处置", "2": "基本正确", "3": "正确迅速"}
    codes = [n.item.code for n in service.flat_tree(component)]
    assert codes.index("B9") == codes.index("B3") + 1 and codes.index("B9.1") == codes.index("B9") + 1
    assert [i.sort_order for i in sorted(component.items, key=lambda i: i.sort_order)] == list(
        range(len(codes)))
    assert service.items_total(component) == Decimal("105")
    assert "105" in service.scheme_problems(component)[0]
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "scheme.add")
                            .order_by(AuditLog.id.desc()))
    assert row.after["code"] == "B9.1" and row.after["ability"] == "problem-solving"
    assert (row.before["items_total"], row.after["items_total"]) == ("100", "105")


def test_editing_and_deleting_a_criterion_with_its_items():
    component = practical()
    service.update_node(node("A2"), {"maximum": "10", "title": "可燃气体检测"})
    assert service.items_total(component) == Decimal("95")
    assert service.delete_node(node("C")) == 3
    assert {i.code for i in component.items} == {"A", "A1", "A2", "A3", "B", "B1", "B2", "B3"}
    errors = errors_of(lambda: service.update_node(node("A"), {"node": "item", "kind":
                                                               "measurement", "maximum": "1"}))
    assert "node" in errors  # A has items under it


def test_moving_a_node_among_its_siblings():
    service.move_node(node("A3"), -1)
    assert [n.item.code for n in service.scheme_tree(practical())[0].children] == ["A1", "A3", "A2"]


def test_replace_scheme_checks_every_row_before_changing_anything():
    nodes = [
        {"node": "criterion", "code": "A", "title": "准备", "children": [
            {"node": "item", "code": "A1", "title": "许可", "kind": "measurement", "maximum": "-1"},
            {"node": "item", "code": "A2", "title": "检测", "kind": "deduction", "maximum": "5"},
        ]},
        {"node": "item", "code": "A1", "title": "重复", "kind": "measurement", "maximum": "5",
         "ability": "nonexistent"},
    ]
    errors = errors_of(lambda: service.replace_nested(practical(), nodes))
    assert set(errors) == {"nodes.1.maximum", "nodes.2.deduction_per_occurrence", "nodes.3.code",
                           "nodes.3.ability"}
    assert len(practical().items) == 11


def test_replace_scheme_builds_the_new_tree():
    component = practical()
    service.replace_nested(component, [
        {"node": "criterion", "code": "A", "title": "安全", "children": [
            {"node": "sub_criterion", "code": "A1", "title": "动火", "children": [
                {"node": "item", "code": "A1.1", "title": "许可证", "kind": "measurement",
                 "maximum": "60", "all_or_nothing": True, "ability": "professionalism"}]},
            {"node": "item", "code": "A2", "title": "违章", "kind": "disqualifying",
             "disqualify_scope": "entry"}]},
        {"node": "item", "code": "B", "title": "沟通", "kind": "judgement", "maximum": "40",
         "descriptors": {"0": "无", "3": "好"}},
    ])
    nested = service.as_nested(component)
    assert [n["code"] for n in nested] == ["A", "B"]
    assert nested[0]["total"] == "60" and nested[0]["children"][0]["children"][0]["ability"] == \
        "professionalism"
    assert nested[0]["children"][1]["disqualify_scope"] == "entry"
    assert service.scheme_problems(component) == []
    scheme = service.scoring_scheme(component)
    assert [i.code for i in scheme.items] == ["A1.1", "A2", "B"]
    assert scheme.items[0].criterion == ("A 安全", "A1 动火")
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "scheme.replace")
                            .order_by(AuditLog.id.desc()))
    assert len(row.before["nodes"]) == 11 and len(row.after["nodes"]) == 5


def test_a_scheme_with_score_sheets_cannot_change():
    component = practical()
    place = db.session.scalar(sa.select(StageEntry))
    judge = db.session.scalar(sa.select(User).where(User.username == "judge3"))
    db.session.add(ScoreSheet(component=component, stage_entry=place, judge=judge))
    db.session.flush()
    with pytest.raises(ServiceError) as caught:
        service.update_node(node("A1"), {"maximum": "5"})
    assert "已有成绩" in caught.value.message
    with pytest.raises(ServiceError):
        service.replace_nested(component, [])


def test_criteria_carry_no_kind_or_maximum():
    criterion = service.add_node(practical(), {"node": "criterion", "code": "D", "title": "文明",
                                               "kind": "measurement", "maximum": "5"})
    assert (criterion.node, criterion.kind, criterion.maximum) == (MarkingNode.CRITERION, None,
                                                                   None)
