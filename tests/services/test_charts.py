"""Chart data checked against numbers worked out by hand: histograms, the ability shares of
marking items and exam questions, the track average, judge severity, entries and advancers."""
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Component, Entry, Stage, StageEntry
from app.services import accounts, charts, judging, results, score_sheets
from tests.charts_setup import EXPECTED_AVERAGE, EXPECTED_MINE, FULL_MARKS, judged_and_published

pytestmark = pytest.mark.usefixtures("app_ctx")


def by_category(spec: dict, series: int = 0) -> dict:
    return dict(zip(spec["categories"], spec["series"][series]["data"], strict=True))


def test_half_up_rounds_an_exact_half_away_from_zero():
    assert charts.half_up(Fraction(3333, 40), 2) == Decimal("83.33")  # 83.325 exactly
    assert charts.half_up(Fraction(-7, 8), 2) == Decimal("-0.88")  # −0.875
    assert charts.half_up(Fraction(1, 3), 2) == Decimal("0.33")


def test_histogram_has_ten_equal_bins_and_the_maximum_in_the_last():
    values = [Decimal(v) for v in ("0", "9.99", "10", "49.5", "90", "100")]
    bins = charts.histogram(values, Decimal("100"))
    assert [label for label, _n in bins][:2] == ["0–10", "10–20"]
    assert [n for _label, n in bins] == [2, 1, 0, 0, 1, 0, 0, 0, 0, 2]
    fifteen = charts.histogram([Decimal("1.5"), Decimal("1.49"), Decimal("15")], Decimal("15"))
    assert fifteen[0] == ("0–1.5", 1) and fifteen[1] == ("1.5–3", 1) and fifteen[9][1] == 1


def test_ability_shares_of_items_and_questions_match_the_hand_computed_ones():
    stage = db.session.get(Stage, judged_and_published())
    profile = charts.contestant_ability_profile(db.session.get(Entry, 1), stage)
    assert profile["type"] == "radar" and profile["unit"] == "%"
    assert by_category(profile, 0) == EXPECTED_MINE
    # the track average is the mean of every contestant's rounded share, rounded again
    assert by_category(profile, 1) == EXPECTED_AVERAGE
    # abilities no item or question carries are not drawn as zero
    assert "人才培育" not in profile["categories"]
    organisers = charts.stage_ability_profile(stage)
    assert by_category(organisers, 0) == EXPECTED_AVERAGE


def test_the_contestant_sees_no_ability_chart_before_publication_nor_after_a_correction():
    stage = db.session.get(Stage, judged_and_published(publish=False))
    entry = db.session.get(Entry, 1)
    assert charts.contestant_ability_profile(entry, stage) is None  # only a draft exists
    from tests.results_setup import recheck_and_publish

    version = db.session.scalar(sa.select(results.ResultsVersion).where(
        results.ResultsVersion.stage_id == stage.id))
    recheck_and_publish(version, accounts.get_by_username("organiser"))
    assert charts.contestant_ability_profile(entry, stage)["categories"]
    # a corrected import not yet published: the chart shows none of the new numbers
    twin = next(c for c in stage.components if c.code == "twin")
    score = db.session.scalar(sa.select(charts.ComponentScore).where(
        charts.ComponentScore.component_id == twin.id))
    score.points = Decimal("81")
    db.session.flush()
    stale = charts.contestant_ability_profile(entry, stage)
    assert stale["categories"] == [] and stale["series"] == [] and stale["note"]


def test_totals_and_component_points_spread_as_computed_by_hand():
    stage = db.session.get(Stage, judged_and_published())
    # demo contestant: theory 67.5 × 30% + practical 67 × 35% + twin 80 × 35% = 71.70; the
    # others 27 + 35 + 28 = 90.00
    totals = charts.totals_distribution(stage)
    assert by_category(totals)["70–80"] == 1 and by_category(totals)["90–100"] == 2
    assert sum(totals["series"][0]["data"]) == 3
    practical = next(c for c in stage.components if c.code == "practical")
    points = charts.component_distribution(practical)  # 67.00 and twice 100
    bins = [f"{10 * k}–{10 * k + 10}" for k in range(10)]
    assert by_category(points) == {**dict.fromkeys(bins, 0), "60–70": 1, "90–100": 2}


def test_judge_severity_is_each_judges_mean_deviation_from_the_panel_median():
    from tests.judging_setup import prepare_practical

    practical = db.session.get(Component, prepare_practical(n=3, seed="severity"))
    a2 = {"judge1": "15", "judge2": "14", "judge3": "13", "judge4": "12", "judge5": "5"}
    for name, value in a2.items():
        judge = accounts.get_by_username(name)
        for place in judging.judge_places(judging.assignment_for(practical, judge)):
            sheet = score_sheets.sheet_for(practical, judge, place.workstation_number, create=True)
            score_sheets.save(sheet, {**FULL_MARKS, "A2": value}, {}, 0, version=sheet.version,
                              actor=judge)
            score_sheets.submit(sheet, version=sheet.version, actor=judge)
    # Sheets: 100, 99, 98, 97, 90. Two works with all five judges (median 98) and one without
    # judge1, whose enterprise it is (median of 99, 98, 97, 90 = 97.5).
    spec = charts.judge_severity(practical)
    names = {accounts.get_by_username(n).display_name: n for n in a2}
    severity = {names[k]: v for k, v in by_category(spec, 0).items()}
    assert severity == {"judge1": "2.00",  # (2 + 2) / 2
                        "judge2": "1.17",  # (1 + 1 + 1.5) / 3
                        "judge3": "0.17",  # (0 + 0 + 0.5) / 3
                        "judge4": "-0.83",  # (−1 − 1 − 0.5) / 3
                        "judge5": "-7.83"}  # (−8 − 8 − 7.5) / 3
    spread = {names[k]: v for k, v in by_category(spec, 1).items()}
    assert spread["judge1"] == "0.00" and spread["judge5"] == "0.24"  # sd of −8, −8, −7.5
    # before sign-off the distribution is of the points aggregated so far (trimmed mean 98)
    points = charts.component_distribution(practical)
    assert points["note"] and by_category(points)["90–100"] == 3


def test_entries_and_advancers_are_counted_per_enterprise_and_city():
    stage = db.session.get(Stage, judged_and_published())
    version = results.latest_published(stage)
    listing = results.generate_list(version, actor=accounts.get_by_username("organiser"))
    going = {e.stage_entry_id for e in results.advancers(listing)}
    places = db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == stage.id)).all()
    enterprises = Counter(p.entry.enterprise.name for p in places)
    cities = Counter(p.entry.city or p.entry.enterprise.city for p in places)
    spec = charts.entries_and_advancers(stage, "enterprise")
    assert spec["horizontal"] and by_category(spec, 0) == dict(enterprises)
    assert by_category(spec, 1) == Counter(p.entry.enterprise.name for p in places
                                           if p.id in going)
    by_city = charts.entries_and_advancers(stage, "city")
    assert by_category(by_city, 0) == dict(cities)
    assert by_city["categories"] == sorted(cities, key=lambda c: (-cities[c], c))


def test_a_sheet_the_changed_scheme_no_longer_takes_is_left_out_of_the_abilities():
    from app.models import MarkingItem
    from tests.judging_setup import prepare_practical

    practical = db.session.get(Component, prepare_practical(n=3, seed="changed"))
    judge = accounts.get_by_username("judge3")
    places = judging.judge_places(judging.assignment_for(practical, judge))
    for place, a2 in zip(places, ("12", "6"), strict=False):
        sheet = score_sheets.sheet_for(practical, judge, place.workstation_number, create=True)
        score_sheets.save(sheet, {**FULL_MARKS, "A2": a2}, {}, 0, version=sheet.version, actor=judge)
        score_sheets.submit(sheet, version=sheet.version, actor=judge)
    item = db.session.scalar(sa.select(MarkingItem).where(
        MarkingItem.component_id == practical.id, MarkingItem.code == "A2"))
    item.maximum = Decimal("10")  # 12 is now out of range; 6 still fits
    db.session.flush()
    tally = charts.ability_tally(practical.stage)
    expertise = item.ability_id
    counted = [e for e in tally.available if expertise in tally.available[e]]
    assert counted == [places[1].id]
    # A2 6 of 10 and B1 20 of 20: 26 of 30
    assert tally.percent(places[1].id, expertise, 2) == Decimal("86.67")
