"""The chief judge's panel and the organisers' judging overview on the living demo (issue 12
part 7): judge1 has not started the second sitting, so the panel counts those sheets and
sign-off names judge1 and the workstations -- never "0 unsubmitted" while seats wait -- and
both pages stay within a fixed number of queries with 1,415 entries in the preliminary and 60
in the advanced stage."""
import re
from contextlib import contextmanager

import sqlalchemy as sa

from app.models import ScoreSheet, SheetStatus, User
from tests.living.test_living_demo import _component


@contextmanager
def counted(app):
    from app.extensions import db

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _counters(page: str) -> dict[str, int]:
    return {name: int(value) for name, value in
            re.findall(r'data-counter="(\w+)">(\d+)<', page)}


def test_the_panel_counts_judge1s_unstarted_sheets_and_says_sign_off_waits_for_them(
        as_user, read, living_app):
    practical = _component(read, 2, "practical")
    submitted = read(sa.select(sa.func.count()).select_from(ScoreSheet).where(
        ScoreSheet.component_id == practical, ScoreSheet.status == SheetStatus.SUBMITTED))[0][0]
    judge1 = read(sa.select(User.display_name).where(User.username == "judge1"))[0][0]
    chief = as_user("chief")
    url = f"/judge/components/{practical}/panel"
    chief.get(url)
    with counted(living_app) as statements:
        page = chief.get(url).get_data(as_text=True)
    counters = _counters(page)
    assert counters["submitted"] == submitted and counters["not_started"] > 0
    assert counters["in_progress"] == counters["returned"] == counters["signed_off"] == 0
    summary = page.split('id="panel-summary"')[1].split("</ul>")[0]
    assert f"<strong>{counters['not_started']}</strong>" in summary  # not "0 unsubmitted"
    waits = page.split('id="sign-off-waits"')[1].split("</div>")[0]
    assert f"还有{counters['not_started']}份评分表未提交" in waits
    assert f"{judge1}：赛位 2" in waits and "尚未开始评分" in waits
    # judges by name, not by account name, where the panel names who differs and how severe
    severity = page.split('id="effects-title"')[1].split("</table>")[0]
    assert judge1 in severity and "judge1" not in severity
    flagged = page.split('class="table-warning"')[1].split("</tr>")[0]
    assert "评分差异" in flagged and not re.search(r"judge\d", flagged.split("评分差异")[1])
    # one query per kind of thing shown, none per workstation (60) or judge
    assert len(statements) <= 14, len(statements)


def test_the_judging_overview_counts_the_same_in_a_fixed_number_of_queries(
        as_user, read, living_app):
    organiser = as_user("organiser")
    organiser.get("/admin/judging")
    with counted(living_app) as statements:
        page = organiser.get("/admin/judging").get_data(as_text=True)
    practical = _component(read, 2, "practical")
    chief_page = as_user("chief").get(f"/judge/components/{practical}/panel").get_data(
        as_text=True)
    counters = _counters(chief_page)
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert (f"未开始 {counters['not_started']} · 评分中 0 · 已提交 {counters['submitted']}"
            in shown)
    assert len(statements) <= 12, len(statements)
