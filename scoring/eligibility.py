"""The eligibility pool (资格审核范围): who of a ranked stage is checked before advancement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import InvalidRule


def draw_pool(ranked: Iterable[tuple[object, int]], size: int,
              ineligible: Iterable[object] = ()) -> list[object]:
    """The members of an eligibility pool of ``size``: the top ``size`` by rank.

    Rule: walk the ranked entries in rank order (``ranked``: (entry id, rank) pairs, already
    in that order, equal ranks in a fixed order); each entry is a member; one found ineligible
    (in ``ineligible``) does not count towards ``size``, so the next by rank joins in its place;
    the walk stops once ``size`` members count, but entries sharing the rank of the last
    counted member join too (a pool never splits a tie).  Returns the members in walk order.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidRule(f"资格审核人数必须是正整数，当前为{size!r}")
    out = set(ineligible)
    members: list[object] = []
    counted, last_rank = 0, None
    for entry_id, rank in ranked:
        if counted >= size and rank != last_rank:
            break
        members.append(entry_id)
        if entry_id not in out:
            counted += 1
            last_rank = rank
    return members


def undecided_that_matter(advanced: Iterable[object], states: Mapping[object, str]) -> list[object]:
    """The undecided members that can still change an advancement list, in list order.

    Rule: select the list as if every undecided member were confirmed (``advanced``: that
    list's entry ids).  An undecided member on it would leave it if found ineligible; one not
    on it stays off it either way (below the cut-off, or over its enterprise's cap: its place
    in the walk only ever follows full enterprises), and nobody's place depends on it.  So the
    list is fixed exactly when no undecided member is on that list.
    """
    return [e for e in advanced if states.get(e) == "undecided"]


__all__ = ["draw_pool", "undecided_that_matter"]
