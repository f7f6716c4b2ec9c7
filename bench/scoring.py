"""Benchmark of scoring/: a whole stage (100,000 contestants, 7 tracks, 3 components x 5 judges)
and item-level sheets (10,000 contestants x 40 items x 5 judges), against a plain pandas floor.

Run from the repository root:  .venv/bin/python bench/scoring.py  [--contestants N ...]

Method: input data are generated first and not timed.  Each timed computation runs ``--repeat``
times and the best wall time is kept, for the stage and for the floor alike (both warm).  Peak
memory is the process's resident high-water mark (VmHWM) during the stage runs: the mark is
reset through /proc/self/clear_refs just before them, so the figure is the whole process
(interpreter, libraries, input data and the computation) at its highest, not a tracemalloc
estimate, which misses most of numpy's buffers.  The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys

import numpy as np
import pandas as pd

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# scoring package: put the repository root there instead.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [_ROOT] + [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import scoring  # noqa: E402
from bench._common import best_of, peak_rss_mb, reset_peak_rss, rss_mb  # noqa: E402

TRACKS = ["化工", "钢铁", "机械", "轻纺", "新能源", "建筑", "电力"]
COMPONENTS = [("theory", "理论", 30), ("practical", "实操", 40), ("twin", "数字孪生", 30)]


def make_stage_data(n: int, n_tracks: int, n_judges: int, seed: int = 7):
    """Entries and judge points: ability + judge severity + noise, 2-decimal points on 100."""
    rng = np.random.default_rng(seed)
    tracks = np.array(TRACKS * (n_tracks // len(TRACKS) + 1))[:n_tracks]
    entry_track = rng.integers(0, n_tracks, n)
    enterprise = np.array([f"{tracks[t]}企业{k:03d}" for t, k in zip(entry_track, rng.integers(0, 40, n), strict=True)])
    entries = pd.DataFrame(
        {
            "entry_id": np.arange(1, n + 1, dtype=np.int64),
            "track": tracks[entry_track],
            "enterprise": enterprise,
            "time_used": rng.integers(3000, 5400, n),
        }
    )
    n_c = len(COMPONENTS)
    ability = rng.normal(72, 10, n)
    rows = n * n_c * n_judges
    entry_idx = np.repeat(np.arange(n), n_c * n_judges)
    comp_idx = np.tile(np.repeat(np.arange(n_c), n_judges), n)
    judge_no = np.tile(np.arange(n_judges), n * n_c)
    severity = rng.normal(0, 2, (n_tracks, n_c, n_judges))
    raw = ability[entry_idx] + severity[entry_track[entry_idx], comp_idx, judge_no] + rng.normal(0, 4, rows)
    points = np.clip(np.round(raw, 2), 0, 100)
    judge_id = (entry_track[entry_idx] * 100 + comp_idx * 10 + judge_no).astype(np.int64)
    keep = np.ones(rows, bool)
    # 0.2% of practical works lost one judge's sheet (still >= 2 judges: complete).
    lost = rng.random(n) < 0.002
    keep[np.flatnonzero(lost) * n_c * n_judges + 1 * n_judges] = False
    comp_names = np.array([c[0] for c in COMPONENTS], dtype=object)
    judge_points = pd.DataFrame(
        {
            "entry_id": entries["entry_id"].to_numpy()[entry_idx[keep]],
            "component": comp_names[comp_idx[keep]],
            "judge_id": judge_id[keep],
            "points": points[keep],
        }
    )
    return entries, judge_points


def stage_rule() -> scoring.StageRule:
    comps = []
    for code, name, weight in COMPONENTS:
        agg = scoring.AggregationRule(
            scoring.Aggregation.TRIMMED_MEAN, min_judges=2 if code == "practical" else 1, disagreement_threshold=25
        )
        comps.append(scoring.ComponentRule(code, name, weight, 100, agg))
    return scoring.StageRule(
        tuple(comps),
        tie_breaks=(scoring.TieBreak("practical"), scoring.TieBreak("twin"), scoring.TieBreak("time")),
        quota=60,
        per_enterprise_cap=5,
    )


def run_stage(rule, entries, judge_points):
    res = scoring.stage_results(rule, judge_points, entries, group_by="track")
    adv = scoring.select_advancers(
        res.results, rule.quota, rule.per_enterprise_cap, rule.cutoff_tie_policy, group_by="track"
    )
    return res, adv


def floor(entries, judge_points):
    """The plainest vectorised pandas trimmed-mean weighted ranking per track (floats)."""
    g = judge_points.groupby(["entry_id", "component"])["points"].agg(["sum", "max", "min", "count"])
    trimmed = (g["sum"] - g["max"] - g["min"]) / (g["count"] - 2)
    wide = trimmed.unstack()
    total = wide["theory"] * 0.3 + wide["practical"] * 0.4 + wide["twin"] * 0.3
    out = entries[["entry_id", "track"]].join(total.rename("total"), on="entry_id")
    out["rank"] = out.groupby("track")["total"].rank(method="min", ascending=False)
    return out


def make_item_data(n: int, n_items: int, n_judges: int, seed: int = 11):
    rng = np.random.default_rng(seed)
    kinds = (["measurement"] * 20 + ["judgement"] * 12 + ["deduction"] * 6 + ["disqualifying"] * 2) * (n_items // 40 + 1)
    kinds = kinds[:n_items]
    items = []
    for k, kind in enumerate(kinds):
        code = f"I{k + 1:02d}"
        if kind == "measurement":
            items.append(scoring.MarkingItem(code, kind, 3, all_or_nothing=k % 5 == 0, criterion=(f"C{k // 10}",)))
        elif kind == "judgement":
            items.append(scoring.MarkingItem(code, kind, 2, criterion=(f"C{k // 10}",)))
        elif kind == "deduction":
            items.append(scoring.MarkingItem(code, kind, 2, deduction_per_occurrence="0.5"))
        else:
            items.append(scoring.MarkingItem(code, kind, 0, disqualify_scope="entry" if k % 2 else "component"))
    scheme = scoring.MarkingScheme(tuple(items))
    rows = n * n_items * n_judges
    entry = np.repeat(np.arange(n, dtype=np.int64), n_items * n_judges)
    judge = np.tile(np.repeat(np.arange(n_judges, dtype=np.int64), n_items), n)
    item = np.tile(np.arange(n_items), n * n_judges)
    value = np.zeros(rows)
    for k, it in enumerate(items):
        sel = item == k
        m = int(it.maximum)
        if it.kind is scoring.ItemKind.MEASUREMENT:
            value[sel] = rng.integers(0, 2, sel.sum()) * m if it.all_or_nothing else rng.integers(0, m * 100 + 1, sel.sum()) / 100
        elif it.kind is scoring.ItemKind.JUDGEMENT:
            value[sel] = rng.integers(0, 4, sel.sum())
        elif it.kind is scoring.ItemKind.DEDUCTION:
            value[sel] = rng.poisson(0.5, sel.sum())
        else:
            value[sel] = rng.random(sel.sum()) < 0.0005
    codes = np.array([it.code for it in items], dtype=object)
    marks = pd.DataFrame({"entry_id": entry, "judge_id": judge, "item_code": codes[item], "value": value})
    return scheme, marks


def bench_stage(args) -> dict:
    entries, judge_points = make_stage_data(args.contestants, args.tracks, args.judges)
    rule = stage_rule()
    gc.collect()
    base_mb = rss_mb()
    reset_ok = reset_peak_rss()
    seconds, (res, adv) = best_of(lambda: run_stage(rule, entries, judge_points), args.repeat)
    peak_mb = peak_rss_mb()
    floor_seconds, _ = best_of(lambda: floor(entries, judge_points), args.repeat)
    ratio = seconds / floor_seconds
    results = res.results
    advanced = adv.table[adv.table["advanced"]]
    print(f"stage: {args.contestants:,} contestants, {args.tracks} tracks, {len(COMPONENTS)} components, "
          f"{len(judge_points):,} judge points")
    print(f"  scoring.stage_results + select_advancers: {seconds:.3f} s (best of {args.repeat})")
    print(f"  floor (plain pandas trimmed-mean weighted rank, floats): {floor_seconds:.3f} s  ratio {ratio:.2f}x")
    print(f"  peak RSS during stage: {peak_mb:.0f} MB (before: {base_mb:.0f} MB; "
          f"{'VmHWM reset via clear_refs' if reset_ok else 'lifetime ru_maxrss'})")
    print(f"  ranked {int(results['rank'].notna().sum()):,}, advanced {len(advanced)} "
          f"(max {int(advanced.groupby(['track', 'enterprise']).size().max())} per enterprise, "
          f"{int(adv.table['skipped_for_cap'].sum())} skipped for the cap), "
          f"disagreements flagged {int(res.components['disagreement'].sum()):,}")
    return {"seconds": seconds, "peak_mb": peak_mb, "floor_seconds": floor_seconds, "ratio": ratio,
            "judge_points": len(judge_points)}


def bench_items(args) -> dict:
    scheme, marks = make_item_data(args.item_contestants, args.items, args.judges)
    item_seconds, sheets = best_of(lambda: scoring.score_sheets(scheme, marks), args.repeat)
    print(f"items: {args.item_contestants:,} contestants x {args.items} items x {args.judges} judges "
          f"= {len(marks):,} marks -> {len(sheets):,} sheets: {item_seconds:.3f} s")
    return {"item_seconds": item_seconds, "marks": len(marks)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--contestants", type=int, default=100_000)
    ap.add_argument("--tracks", type=int, default=7)
    ap.add_argument("--judges", type=int, default=5)
    ap.add_argument("--item-contestants", type=int, default=10_000)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    stage = bench_stage(args)
    gc.collect()
    items = bench_items(args)
    summary = {
        "bench": "scoring",
        "seconds": round(stage["seconds"], 4),
        "peak_mb": round(stage["peak_mb"], 1),
        "floor_seconds": round(stage["floor_seconds"], 4),
        "ratio": round(stage["ratio"], 2),
        "item_seconds": round(items["item_seconds"], 4),
        "contestants": args.contestants,
        "judge_points": stage["judge_points"],
        "marks": items["marks"],
        "targets": {"seconds": 1.5, "peak_mb": 1536, "ratio": 3.0, "item_seconds": 2.0},
    }
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
