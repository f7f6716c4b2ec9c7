"""The eligibility pool's draw rule (scoring.draw_pool) and when undecided members matter."""
import pytest

import scoring as sc

RANKED = [("A", 1), ("B", 2), ("C", 3), ("D", 3), ("E", 5), ("F", 6), ("G", 7)]


def test_pool_is_the_top_m_by_rank():
    assert sc.draw_pool(RANKED, 2) == ["A", "B"]


def test_pool_never_splits_a_tie_at_its_last_rank():
    assert sc.draw_pool(RANKED, 3) == ["A", "B", "C", "D"]


def test_each_member_found_ineligible_lets_the_next_by_rank_join():
    assert sc.draw_pool(RANKED, 2, ineligible={"B"}) == ["A", "B", "C", "D"]
    assert sc.draw_pool(RANKED, 4, ineligible={"A", "E"}) == ["A", "B", "C", "D", "E", "F"]


def test_a_pool_larger_than_the_field_takes_everyone():
    assert sc.draw_pool(RANKED, 100) == [e for e, _r in RANKED]


@pytest.mark.parametrize("size", [0, -1, True, 2.5])
def test_pool_size_must_be_a_positive_integer(size):
    with pytest.raises(sc.InvalidRule, match="资格审核人数"):
        sc.draw_pool(RANKED, size)


def test_only_undecided_members_on_the_optimistic_list_hold_it_up():
    states = {"A": "confirmed", "B": "undecided", "C": "undecided", "D": "ineligible"}
    assert sc.undecided_that_matter(["A", "B"], states) == ["B"]
    assert sc.undecided_that_matter(["A"], states) == []
