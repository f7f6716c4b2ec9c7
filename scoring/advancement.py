"""Advancement: the top N of the eligible with at most K per enterprise, the cut-off tie, and 递补."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._exact import order_codes, require_columns, sort_order
from .errors import InvalidInput, InvalidRule
from .results import CutoffTiePolicy

#: What happened at a cut-off (the ``cutoff`` column of :attr:`Advancement.cutoffs`).
CUTOFF_NONE = "none"  # no entry outside the list had the last advancer's total
CUTOFF_BROKEN_BY_CHAIN = "broken_by_chain"  # tied on total, separated by the tie-break chain
CUTOFF_ALL_TIED_INCLUDED = "all_tied_included"  # include_all: every entry tied on total advanced
CUTOFF_TIED_AFTER_CHAIN = "tied_after_chain_included"  # the chain could not separate: all share the rank, all advance
CUTOFF_QUOTA_NOT_FILLED = "quota_not_filled"  # fewer eligible entries than places


@dataclass(frozen=True)
class Advancement:
    """An advancement list and how it was made; :meth:`reproduce` rebuilds it from its inputs.

    ``table``, one row per entry of the results, in rank order per group:

    ==============  ============  ================================================================
    [group_by]      as results
    entry_id        as results
    enterprise      str
    rank            Int64         rank in the results (NA: not ranked)
    total           Decimal
    eligible        bool          as results
    advanced        bool          on the list
    place           Int64         1..N on the list (in rank order), NA when not advanced
    skipped_for_cap bool          would have advanced but the enterprise already had K places
    removed         bool          removed during public notice (objection upheld)
    replaces        object        for a 递补 advancer: the entry whose place it fills, else None
    reason          str / None    why skipped, removed, added past the quota, or 递补 (Chinese)
    ==============  ============  ================================================================

    ``cutoffs``: one row per group with ``advanced`` (int), ``cutoff_total`` (Decimal: the
    last advancer's total), ``cutoff`` (one of the ``CUTOFF_*`` codes) and ``note`` (Chinese).
    """

    table: pd.DataFrame
    cutoffs: pd.DataFrame
    results: pd.DataFrame
    quota: int
    cap: int | None
    cutoff_tie_policy: CutoffTiePolicy
    group_by: str | None
    removed: tuple[tuple[object, str], ...] = ()
    replacements: tuple[tuple[object, tuple], ...] = ()

    @property
    def advanced_ids(self) -> list:
        """Entry ids on the list, in place order (per group)."""
        return self.table.loc[self.table["advanced"], "entry_id"].tolist()

    @property
    def note(self) -> str:
        """The cut-off notes joined, for a one-group stage simply its note."""
        return "；".join(self.cutoffs["note"].tolist())

    def reproduce(self) -> Advancement:
        """Rebuild the list from the stored inputs (results, settings, removals)."""
        return select_advancers(
            self.results, self.quota, self.cap, self.cutoff_tie_policy, group_by=self.group_by, removed=self.removed,
            _replacements=self.replacements,
        )


def select_advancers(
    results: pd.DataFrame,
    quota: int,
    cap: int | None = None,
    cutoff_tie_policy: CutoffTiePolicy | str = CutoffTiePolicy.BREAK,
    *,
    group_by: str | None = None,
    removed=(),
    _replacements=(),
) -> Advancement:
    """Select the top ``quota`` eligible entries in rank order, at most ``cap`` per enterprise.

    Rule: walk the eligible entries in rank order (fully tied entries by entry_id); an entry whose
    enterprise already has ``cap`` places is skipped (and marked so) and the walk goes on, until
    ``quota`` places are filled.  At the cut-off, with ``"break"`` the tie-break chain already
    decided the ranks; entries the chain could not separate from the last advancer (same rank)
    all advance.  With ``"include_all"`` every entry tied on total with the last advancer
    advances.  The cap is never exceeded.  ``removed`` (entry ids, or (entry id, reason) pairs)
    are taken off the list first, so their places pass on (递补).  With ``group_by`` each group
    (track) gets its own ``quota``.  ``results`` is a :func:`compute_results` table (entry_id,
    enterprise, total, rank, eligible, and the group column).
    """
    if isinstance(quota, bool) or not isinstance(quota, int) or quota < 1:
        raise InvalidRule(f"晋级名额必须是正整数，当前为{quota!r}")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise InvalidRule(f"每单位晋级上限必须是正整数，当前为{cap!r}")
    try:
        policy = CutoffTiePolicy(cutoff_tie_policy)
    except ValueError:
        raise InvalidRule(f"名额线并列处理方式无效：{cutoff_tie_policy!r}，可选 break 或 include_all") from None
    cols = ["entry_id", "enterprise", "total", "rank", "eligible"] + ([group_by] if group_by else [])
    require_columns(results, cols, "成绩表")
    ids = pd.Index(results["entry_id"])
    if ids.has_duplicates:
        raise InvalidInput("成绩表中选手编号重复")
    removed_pairs = tuple((r if isinstance(r, tuple) else (r, "")) for r in removed)
    removed_ids = [r[0] for r in removed_pairs]
    unknown = [r for r in removed_ids if r not in ids]
    if unknown:
        raise InvalidInput(f"要取消晋级的选手不在成绩表中：{'、'.join(map(str, unknown))}")

    n = len(results)
    entry_code, _ = pd.factorize(results["entry_id"], sort=True)
    groups = pd.factorize(results[group_by], sort=True)[0].astype(np.int64) if group_by else np.zeros(n, np.int64)
    rank_arr = results["rank"].astype("Int64")
    ranked = ~rank_arr.isna().to_numpy()
    rank = rank_arr.fillna(0).to_numpy(dtype=np.int64)
    total_code, total_missing = order_codes(results["total"])
    is_removed = ids.isin(removed_ids) if removed_ids else np.zeros(n, bool)
    eligible = results["eligible"].fillna(False).to_numpy(dtype=bool) & ranked & ~total_missing
    candidate = eligible & ~is_removed

    # Walk order: group, candidates first by rank, then entry_id.
    big = int(rank.max()) + 1 if n else 1
    order = sort_order([groups, ~candidate, np.where(ranked, rank, big), entry_code])
    g_s = groups[order]
    c_s = candidate[order]
    ent_codes, ent_uniq = pd.factorize(results["enterprise"], use_na_sentinel=False)
    e_s = ent_codes[order]
    # ordinal of each candidate within its (group, enterprise), in walk order
    ordinal = np.zeros(n, np.int64)
    cand_pos = np.flatnonzero(c_s)
    if len(cand_pos):
        key = g_s[cand_pos] * (len(ent_uniq) + 1) + e_s[cand_pos]
        ordinal[cand_pos] = pd.Series(key).groupby(key).cumcount().to_numpy()
    ok = c_s & (ordinal < cap) if cap is not None else c_s.copy()
    cum_ok = pd.Series(ok.astype(np.int64)).groupby(g_s).cumsum().to_numpy()
    base = ok & (cum_ok <= quota)

    advanced = base.copy()
    r_s, t_s = rank[order], total_code[order]
    n_groups = int(groups.max()) + 1 if n else 0
    status_by_group = {}
    capped_at_cut = np.zeros(n, bool)  # over the cap but tied with the last advancer
    for g in range(n_groups):
        in_g = g_s == g
        filled = int((base & in_g).sum())
        if not in_g.any():
            continue
        if filled < quota:
            status_by_group[g] = (CUTOFF_QUOTA_NOT_FILLED, None)
            continue
        last = int(np.flatnonzero(base & in_g)[-1])
        rest = in_g & ok & ~base
        same_total = rest & (t_s == t_s[last])
        if policy is CutoffTiePolicy.INCLUDE_ALL:
            extra = same_total
            capped_at_cut |= in_g & c_s & ~ok & (t_s == t_s[last])
            code = CUTOFF_ALL_TIED_INCLUDED if extra.any() else CUTOFF_NONE
        else:
            extra = rest & (r_s == r_s[last])
            capped_at_cut |= in_g & c_s & ~ok & (r_s == r_s[last])
            if extra.any():
                code = CUTOFF_TIED_AFTER_CHAIN
            elif same_total.any():
                code = CUTOFF_BROKEN_BY_CHAIN
            else:
                code = CUTOFF_NONE
        advanced |= extra
        status_by_group[g] = (code, last)

    # Skipped for the cap: candidates the cap passed over before the list closed (the last
    # advancer, or the end of the group when the quota was not filled).
    last_pos = np.full(n_groups, -1, np.int64)
    adv_pos = np.flatnonzero(advanced)
    if len(adv_pos):
        np.maximum.at(last_pos, g_s[adv_pos], adv_pos)
    for g, (code, _) in status_by_group.items():
        if code == CUTOFF_QUOTA_NOT_FILLED:
            last_pos[g] = n
    idx = np.arange(n)
    skipped = (c_s & ~ok & (idx < last_pos[g_s])) | capped_at_cut if n else np.zeros(0, bool)

    place = np.zeros(n, np.int64)
    cum_adv = pd.Series(advanced.astype(np.int64)).groupby(g_s).cumsum().to_numpy() if n else place
    place = np.where(advanced, cum_adv, 0)

    ent_s = results["enterprise"].to_numpy()[order]
    reason = np.full(n, None, dtype=object)
    for i in np.flatnonzero(skipped).tolist():
        reason[i] = f"所在单位{ent_s[i]}已有{cap}人晋级（每单位上限{cap}人），名额依次递延"
    extra_rows = np.flatnonzero(advanced & ~base)
    for i in extra_rows.tolist():
        code = status_by_group[int(g_s[i])][0]
        if code == CUTOFF_ALL_TIED_INCLUDED:
            reason[i] = "与末位晋级者总分相同，按并列全部晋级规则晋级"
        else:
            reason[i] = "与末位晋级者经并列比较后仍完全相同（名次并列），一并晋级"
    removed_reason = dict(removed_pairs)
    rm_s = is_removed[order]
    id_s = ids.take(order)
    for i in np.flatnonzero(rm_s).tolist():
        text = removed_reason.get(id_s[i]) or ""
        reason[i] = "公示期异议成立，取消晋级" + (f"：{text}" if text else "")

    replaces = np.full(n, None, dtype=object)
    pos_of = {eid: i for i, eid in enumerate(id_s.tolist())} if _replacements else {}
    for removed_id, new_ids in _replacements:
        for eid in new_ids:
            i = pos_of.get(eid)
            if i is not None and advanced[i]:
                replaces[i] = removed_id
                if reason[i] is None:
                    reason[i] = f"递补（替补被取消晋级的{removed_id}）"

    # Display in rank order per group (removed and ineligible entries in their rank place).
    display = sort_order([g_s, np.where(ranked[order], rank[order], big), entry_code[order]])
    table: dict = {}
    if group_by:
        table[group_by] = results[group_by].to_numpy()[order]
    table["entry_id"] = id_s
    table["enterprise"] = ent_s
    table["rank"] = rank_arr.array.take(order)
    table["total"] = results["total"].to_numpy()[order]
    table["eligible"] = eligible[order]
    table["advanced"] = advanced
    table["place"] = pd.arrays.IntegerArray(place, ~advanced)
    table["skipped_for_cap"] = skipped
    table["removed"] = rm_s
    table["replaces"] = pd.Series(replaces, dtype=object)
    table["reason"] = pd.Series(reason, dtype=object)
    table_df = pd.DataFrame(table).iloc[display].reset_index(drop=True)
    table_df["rank"] = table_df["rank"].astype("Int64")

    cut_rows = []
    group_values = results[group_by].to_numpy()[order] if group_by else None
    totals_s = results["total"].to_numpy()[order]
    for g in range(n_groups):
        in_g = np.flatnonzero(g_s == g)
        if not len(in_g):
            continue
        code, last = status_by_group[g]
        count = int(advanced[in_g].sum())
        label = f"{group_values[in_g[0]]}：" if group_by else ""
        cut_total = totals_s[last] if last is not None else None
        cut_rows.append(
            {
                **({group_by: group_values[in_g[0]]} if group_by else {}),
                "advanced": count,
                "cutoff_total": cut_total,
                "cutoff": code,
                "note": label + _note(code, quota, count, cut_total, policy),
            }
        )
    if not cut_rows:
        cut_rows.append(
            {
                **({group_by: None} if group_by else {}),
                "advanced": 0,
                "cutoff_total": None,
                "cutoff": CUTOFF_QUOTA_NOT_FILLED,
                "note": _note(CUTOFF_QUOTA_NOT_FILLED, quota, 0, None, policy),
            }
        )
    return Advancement(
        table=table_df,
        cutoffs=pd.DataFrame(cut_rows),
        results=results,
        quota=quota,
        cap=cap,
        cutoff_tie_policy=policy,
        group_by=group_by,
        removed=removed_pairs,
        replacements=tuple(_replacements),
    )


def _note(code: str, quota: int, count: int, cut_total, policy: CutoffTiePolicy) -> str:
    if code == CUTOFF_QUOTA_NOT_FILLED:
        return f"符合晋级条件的选手不足，名额{quota}人，实际晋级{count}人"
    if code == CUTOFF_NONE:
        return f"名额{quota}人，晋级{count}人，名额线总分{cut_total}，线上无并列"
    if code == CUTOFF_BROKEN_BY_CHAIN:
        return f"名额{quota}人，晋级{count}人；名额线总分{cut_total}有并列，已按并列比较规则区分"
    if code == CUTOFF_ALL_TIED_INCLUDED:
        return f"名额{quota}人，名额线总分{cut_total}并列，按并列全部晋级规则晋级{count}人"
    return f"名额{quota}人，名额线总分{cut_total}并列且并列比较后仍相同，并列者一并晋级，共{count}人"


def replace_advancer(advancement: Advancement, removed_entry_id, reason: str = "") -> Advancement:
    """Remove an advancer after an upheld objection and fill the place (递补).

    Rule: the removed entry leaves the list; the next eligible entry by rank takes the place,
    still respecting the per-enterprise cap (the removed entry no longer counts against its
    enterprise).  The returned list records the removal and who replaced whom, and
    :meth:`Advancement.reproduce` rebuilds it from the inputs.
    """
    if not isinstance(advancement, Advancement):
        raise InvalidInput("advancement 必须是 Advancement")
    table = advancement.table
    hit = table.loc[table["entry_id"] == removed_entry_id]
    if hit.empty:
        raise InvalidInput(f"选手{removed_entry_id}不在成绩表中")
    if not bool(hit["advanced"].iat[0]):
        raise InvalidInput(f"选手{removed_entry_id}不在晋级名单中，无需递补")
    before = set(advancement.advanced_ids)
    removed = advancement.removed + ((removed_entry_id, reason),)
    trial = select_advancers(
        advancement.results, advancement.quota, advancement.cap, advancement.cutoff_tie_policy,
        group_by=advancement.group_by, removed=removed, _replacements=advancement.replacements,
    )
    new_ids = tuple(e for e in trial.advanced_ids if e not in before)
    replacements = advancement.replacements + ((removed_entry_id, new_ids),)
    return select_advancers(
        advancement.results, advancement.quota, advancement.cap, advancement.cutoff_tie_policy,
        group_by=advancement.group_by, removed=removed, _replacements=replacements,
    )


__all__ = [
    "CUTOFF_ALL_TIED_INCLUDED",
    "CUTOFF_BROKEN_BY_CHAIN",
    "CUTOFF_NONE",
    "CUTOFF_QUOTA_NOT_FILLED",
    "CUTOFF_TIED_AFTER_CHAIN",
    "Advancement",
    "replace_advancer",
    "select_advancers",
]
