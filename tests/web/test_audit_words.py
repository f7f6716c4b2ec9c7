"""The audit log in words (issue 12, part 4): every action recorded anywhere in the source has a
Chinese name in the one table, and before/after read as field lists, not JSON."""
from __future__ import annotations

import ast
import re

from tests.conftest import ROOT
from tests.plain_text import visible_text

_CODE = re.compile(r"^[a-z_]+(?:\.[a-z_]+)+$")


def _recorded_actions() -> set[str]:
    """Every action code passed to audit.record / audit.fields in app/: literal codes, both
    branches of a conditional, f-strings over every import kind, and for a code held in a
    variable, every code-like literal of that module."""
    from app.models import ImportKind

    codes: set[str] = set()
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_codes = {node.value for node in ast.walk(tree)
                        if isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and _CODE.match(node.value)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            receiver = getattr(getattr(node.func, "value", None), "id", "audit")
            if name not in ("record", "fields") or receiver != "audit" and path.name != "audit.py":
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant):
                codes.add(first.value)
            elif isinstance(first, ast.IfExp):
                codes.update(b.value for b in (first.body, first.orelse)
                             if isinstance(b, ast.Constant))
            elif isinstance(first, ast.JoinedStr):
                template = "".join(p.value if isinstance(p, ast.Constant) else "{}"
                                   for p in first.values)
                codes.update(template.format(kind.value) for kind in ImportKind)
            elif isinstance(first, ast.Name):
                codes.update(module_codes)
    return {code for code in codes if _CODE.match(code)}


def test_every_audit_action_recorded_in_the_source_has_a_chinese_name(app):
    from app.services import audit

    codes = _recorded_actions()
    assert {"mark.save", "entry.claim", "user.sign_out_everywhere", "import.theory.cancel",
            "exam.key_change", "score.remark"} <= codes  # the scan finds them
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        unnamed = sorted(c for c in codes if not re.search(r"[\u4e00-\u9fff]",
                                                          audit.action_name(c)))
    assert not unnamed, f"audit actions without a Chinese name in app.labels: {unnamed}"


def test_before_and_after_read_as_chinese_field_lists_without_ids(app):
    from app.services import audit

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        lines = audit.readable_changes(
            {"status": "endorsed", "A1": None, "overrun_minutes": None, "batch_id": 3},
            {"status": "approved", "exam_number": "2025010012", "A1": "10",
             "overrun_minutes": "0", "batch_id": 4, "active": False})
    assert lines == ["状态：单位已推荐 → 已审核通过", "A1：— → 10", "超时（分钟）：— → 0",
                     "准考证号：2025010012", "启用：否"]


def test_the_audit_page_names_actions_in_chinese_and_filters_by_chinese_categories(signed_in):
    organiser = signed_in("organiser")
    organiser.get("/admin/users")  # something recorded: the sign-in itself
    page = organiser.get("/admin/audit").get_data(as_text=True)
    assert "登录" in visible_text(page) and "user.login" not in visible_text(page)
    assert '<option value="accounts">账号与登录</option>' in page
    filtered = organiser.get("/admin/audit?category=lists").get_data(as_text=True)
    assert "登录</td>" not in filtered
    assert "登录</td>" in organiser.get("/admin/audit?category=accounts").get_data(as_text=True)
