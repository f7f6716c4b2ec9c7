"""The chief judge's panel counts exactly what sign-off checks (issue 12 part 7): one
PanelProgress gives the counters and decides sign-off, whose refusal names the judges and the
workstations it waits for; an empty time overrun is no overrun; a sheet's errors name the item."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Component, ComponentScore
from app.services import FieldErrors, ServiceError, judging, score_sheets
from tests.services.test_judging import FULL_MARKS, fill, stations, user

pytestmark = pytest.mark.usefixtures("app_ctx")

JUDGES = ("judge1", "judge2", "judge3", "judge4", "judge5")


@pytest.fixture
def practical() -> Component:
    from tests.judging_setup import prepare_practical

    return db.session.get(Component, prepare_practical(n=8))


def owed(component: Component) -> int:
    """Sheets the panel owes: each judge's workstations (judge1 is never given a contestant of
    judge1's own enterprise)."""
    return sum(len(stations(component, judge)) for judge in JUDGES)


def counters(progress: judging.PanelProgress) -> dict:
    return {"not_started": progress.not_started, "in_progress": progress.in_progress,
            "submitted": progress.submitted, "returned": progress.returned,
            "signed_off": progress.signed_off}


def test_a_fresh_panel_counts_every_owed_sheet_as_not_started_and_sign_off_says_so(practical):
    total = owed(practical)
    assert total == 7 + 4 * 8
    review = judging.review(practical)
    assert counters(review.progress) == {"not_started": total, "in_progress": 0, "submitted": 0,
                                         "returned": 0, "signed_off": 0}
    assert review.open_sheets == total  # never "0 unsubmitted" while seats are not started
    with pytest.raises(ServiceError) as caught:
        judging.sign_off(practical, actor=user("chief"))
    assert caught.value.message == review.sign_off_refusal()
    assert f"还有{total}份评分表未提交" in caught.value.message
    for judge in JUDGES:
        assert user(judge).display_name in caught.value.message


def test_counters_follow_drafts_submissions_and_returns_and_the_refusal_names_them(practical):
    chief = user("chief")
    draft_at, submitted_at, returned_at = stations(practical, "judge3")[:3]
    fill(practical, "judge3", draft_at, submit=False)
    fill(practical, "judge3", submitted_at)
    returned = fill(practical, "judge3", returned_at)
    score_sheets.return_sheet(returned, "再看一下A2", actor=chief)
    review = judging.review(practical)
    total = owed(practical)
    assert counters(review.progress) == {"not_started": total - 3, "in_progress": 1,
                                         "submitted": 1, "returned": 1, "signed_off": 0}
    refusal = review.sign_off_refusal()
    judge3 = user("judge3").display_name
    assert f"{judge3}：赛位 {draft_at} 正在评分，尚未提交" in refusal
    assert f"{judge3}：赛位 {returned_at} 已退回，待重新评分" in refusal
    with pytest.raises(ServiceError) as caught:
        judging.sign_off(practical, actor=chief)
    assert caught.value.message == refusal
    # the refusal changed nothing
    assert practical.signed_off_at is None
    assert not db.session.scalars(sa.select(ComponentScore).where(
        ComponentScore.component_id == practical.id)).all()


def test_once_every_owed_sheet_is_in_the_counters_say_so_and_sign_off_goes_ahead(practical):
    for judge in JUDGES:
        for station in stations(practical, judge):
            fill(practical, judge, station)
    review = judging.review(practical)
    total = owed(practical)
    assert counters(review.progress) == {"not_started": 0, "in_progress": 0, "submitted": total,
                                         "returned": 0, "signed_off": 0}
    assert review.sign_off_refusal() is None
    assert judging.sign_off(practical, actor=user("chief")) == 8
    assert counters(judging.progress(practical)) == {
        "not_started": 0, "in_progress": 0, "submitted": 0, "returned": 0, "signed_off": total}


def test_the_overview_counts_the_same_as_the_chief_judges_panel(practical):
    fill(practical, "judge4", stations(practical, "judge4")[0], submit=False)
    fill(practical, "judge5", stations(practical, "judge5")[0])
    rows = judging.overview()
    shown = next(c for row in rows for c in row["components"]
                 if c["component"].id == practical.id)
    assert counters(shown["progress"]) == counters(judging.review(practical).progress)


def test_a_workstation_short_of_judges_is_named_when_every_owed_sheet_is_in(practical):
    """Only judge3 and judge4 stay on the panel for one workstation: with the rule's minimum of
    judges not met there, sign-off names the workstation."""
    station = stations(practical, "judge3")[0]
    for judge in ("judge1", "judge2", "judge4", "judge5"):
        judging.remove_judge(judging.assignment_for(practical, user(judge)),
                             actor=user("organiser"))
    judging.assign_judge(practical, user("judge4"), workstations=[station],
                         actor=user("organiser"))
    practical.min_judges = 3
    for s in stations(practical, "judge3"):
        fill(practical, "judge3", s)
    fill(practical, "judge4", station)
    review = judging.review(practical)
    assert review.progress.open == 0
    refusal = review.sign_off_refusal()
    assert refusal is not None and station in refusal and "数量尚不足" in refusal
    with pytest.raises(ServiceError, match="数量尚不足"):
        judging.sign_off(practical, actor=user("chief"))


def test_an_empty_time_overrun_is_no_overrun_and_the_sheet_submits(practical):
    station = stations(practical)[0]
    sheet = score_sheets.sheet_for(practical, user("judge3"), station, create=True)
    state = score_sheets.save(sheet, FULL_MARKS, {}, "", version=sheet.version,
                              actor=user("judge3"))
    assert state.complete and "overrun_minutes" not in state.problems
    result = score_sheets.submit(sheet, version=sheet.version, actor=user("judge3"))
    assert result.points == Decimal("100.00") and sheet.overrun_minutes is None
    other = fill(practical, "judge4", station, overrun=0)
    assert other.points == sheet.points  # empty and 0 count the same


def test_submitting_an_incomplete_sheet_names_each_missing_item_in_words(practical):
    sheet = fill(practical, "judge3", stations(practical)[0], {"A1": "10"}, submit=False)
    with pytest.raises(FieldErrors) as caught:
        score_sheets.submit(sheet, version=sheet.version, actor=user("judge3"))
    titles = {i.code: i.title for i in score_sheets.marking_items(practical)}
    assert list(caught.value.errors) == ["A2", "A3", "B1", "B2", "B3"]
    assert caught.value.errors["A2"] == f"A2 {titles['A2']}：尚未评分。"
    assert not any("overrun" in message for message in caught.value.errors.values())
