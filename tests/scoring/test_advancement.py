"""Advancement: top N of the eligible, at most K per enterprise, cut-off ties, 递补."""

from decimal import Decimal as D

import pandas as pd
import pytest

from scoring import (
    CUTOFF_ALL_TIED_INCLUDED,
    CUTOFF_BROKEN_BY_CHAIN,
    CUTOFF_NONE,
    CUTOFF_QUOTA_NOT_FILLED,
    CUTOFF_TIED_AFTER_CHAIN,
    ComponentRule,
    InvalidInput,
    InvalidRule,
    StageRule,
    TieBreak,
    compute_results,
    replace_advancer,
    select_advancers,
)

RULE = StageRule(
    (ComponentRule("theory", "理论", 50), ComponentRule("practical", "实操", 50)),
    tie_breaks=(TieBreak("practical"),),
)


def results(rows, **cols):
    """rows: (entry, enterprise, theory, practical)."""
    cp = pd.DataFrame(
        [(e, "theory", D(str(t))) for e, _, t, _ in rows] + [(e, "practical", D(str(p))) for e, _, _, p in rows],
        columns=["entry_id", "component", "points"],
    )
    ents = pd.DataFrame({"entry_id": [r[0] for r in rows], "enterprise": [r[1] for r in rows], **cols})
    return compute_results(RULE, cp, ents, group_by="track" if "track" in cols else None)


def advanced(adv):
    return adv.advanced_ids


def test_top_n_advance_when_there_is_no_tie():
    res = results([("A", "x", 90, 90), ("B", "y", 80, 80), ("C", "z", 70, 70)])
    adv = select_advancers(res, 2)
    assert advanced(adv) == ["A", "B"]
    assert adv.cutoffs["cutoff"].iat[0] == CUTOFF_NONE
    assert adv.table["place"].tolist()[:2] == [1, 2]


def test_enterprise_over_its_cap_at_the_cutoff_is_skipped_and_the_next_advances():
    res = results([("A", "x", 95, 95), ("B", "x", 90, 90), ("C", "x", 85, 85), ("D", "y", 80, 80), ("E", "z", 70, 70)])
    adv = select_advancers(res, 3, cap=2)
    assert advanced(adv) == ["A", "B", "D"]
    t = adv.table.set_index("entry_id")
    assert t.loc["C", "skipped_for_cap"] and not t.loc["C", "advanced"]
    assert t.loc["C", "reason"] == "所在单位x已有2人晋级（每单位上限2人），名额依次递延"
    assert not t.loc["E", "skipped_for_cap"]


TIED = [("A", "x", 90, 90), ("B", "y", 80, 90), ("C", "z", 90, 80), ("D", "w", 70, 70)]  # B, C total 85


def test_tie_at_the_cutoff_broken_by_the_chain():
    adv = select_advancers(results(TIED), 2, cutoff_tie_policy="break")
    assert advanced(adv) == ["A", "B"]  # B's practical 90 beats C's 80
    assert adv.cutoffs["cutoff"].iat[0] == CUTOFF_BROKEN_BY_CHAIN
    assert "已按并列比较规则区分" in adv.note


def test_tie_at_the_cutoff_with_include_all_advances_every_tied_entry():
    adv = select_advancers(results(TIED), 2, cutoff_tie_policy="include_all")
    assert advanced(adv) == ["A", "B", "C"]
    assert adv.cutoffs["cutoff"].iat[0] == CUTOFF_ALL_TIED_INCLUDED
    assert adv.table.set_index("entry_id").loc["C", "reason"] == "与末位晋级者总分相同，按并列全部晋级规则晋级"


def test_tie_the_chain_cannot_break_advances_all_who_share_the_rank():
    res = results([("A", "x", 90, 90), ("B", "y", 80, 90), ("C", "z", 80, 90), ("D", "w", 70, 70)])
    adv = select_advancers(res, 2, cutoff_tie_policy="break")
    assert advanced(adv) == ["A", "B", "C"]
    assert adv.cutoffs["cutoff"].iat[0] == CUTOFF_TIED_AFTER_CHAIN


def test_include_all_still_respects_the_enterprise_cap():
    res = results([("A", "x", 90, 90), ("B", "y", 80, 90), ("C", "x", 90, 80), ("D", "w", 70, 70)])
    adv = select_advancers(res, 2, cap=1, cutoff_tie_policy="include_all")
    assert advanced(adv) == ["A", "B"]
    assert adv.table.set_index("entry_id").loc["C", "skipped_for_cap"]


def test_disqualified_top_scorer_does_not_advance_and_the_place_passes_on():
    res = results([("A", "x", 99, 99), ("B", "y", 80, 80), ("C", "z", 70, 70)], disqualified=[True, False, False])
    assert advanced(select_advancers(res, 2)) == ["B", "C"]


def test_fewer_eligible_than_places_fills_what_it_can():
    res = results([("A", "x", 99, 99), ("B", "x", 80, 80)])
    adv = select_advancers(res, 5, cap=1)
    assert advanced(adv) == ["A"]
    assert adv.cutoffs["cutoff"].iat[0] == CUTOFF_QUOTA_NOT_FILLED
    assert adv.table.set_index("entry_id").loc["B", "skipped_for_cap"]


def test_replacement_takes_the_next_eligible_by_rank_respecting_the_cap():
    res = results([("A", "x", 95, 95), ("B", "x", 90, 90), ("C", "y", 85, 85), ("D", "z", 80, 80), ("E", "z", 75, 75)])
    adv = select_advancers(res, 2, cap=1)
    assert advanced(adv) == ["A", "C"]
    # A's objection upheld: x has no place now, so B (next by rank) fills it
    adv2 = replace_advancer(adv, "A", "身份信息不实")
    assert advanced(adv2) == ["B", "C"]
    t = adv2.table.set_index("entry_id")
    assert t.loc["A", "removed"] and t.loc["A", "reason"] == "公示期异议成立，取消晋级：身份信息不实"
    assert t.loc["B", "replaces"] == "A" and t.loc["B", "reason"] == "递补（替补被取消晋级的A）"
    # then C removed: D fills; E is over z's cap behind D
    adv3 = replace_advancer(adv2, "C")
    assert advanced(adv3) == ["B", "D"]
    assert adv3.table.set_index("entry_id").loc["D", "replaces"] == "C"
    pd.testing.assert_frame_equal(adv3.reproduce().table, adv3.table)


def test_replacing_an_entry_not_on_the_list_is_an_error():
    adv = select_advancers(results([("A", "x", 95, 95), ("B", "y", 90, 90)]), 1)
    with pytest.raises(InvalidInput, match="不在晋级名单中"):
        replace_advancer(adv, "B")


def test_each_group_gets_its_own_quota():
    rows = [("A", "x", 95, 95), ("B", "y", 90, 90), ("C", "x", 85, 85), ("D", "y", 80, 80)]
    res = results(rows, track=["化工", "化工", "钢铁", "钢铁"])
    adv = select_advancers(res, 1, group_by="track")
    assert advanced(adv) == ["A", "C"]
    assert len(adv.cutoffs) == 2


def test_advancement_does_not_depend_on_row_order():
    res = results([("A", "x", 95, 95), ("B", "x", 90, 90), ("C", "x", 85, 85), ("D", "y", 80, 80), ("E", "z", 80, 80)])
    a = select_advancers(res, 3, cap=2, cutoff_tie_policy="include_all")
    b = select_advancers(res.sample(frac=1, random_state=2), 3, cap=2, cutoff_tie_policy="include_all")
    pd.testing.assert_frame_equal(a.table, b.table)


@pytest.mark.parametrize(("kwargs", "fragment"), [({"quota": 0}, "晋级名额"), ({"quota": 2, "cap": 0}, "上限"), ({"quota": 2, "cutoff_tie_policy": "draw"}, "并列处理")])
def test_invalid_advancement_settings_are_rejected(kwargs, fragment):
    with pytest.raises(InvalidRule, match=fragment):
        select_advancers(results([("A", "x", 95, 95)]), **kwargs)
