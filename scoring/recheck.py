"""Re-check (复核) before publication: which sheets to re-check, and when a full re-check is due."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from ._exact import fmt, require_columns, to_decimal
from .errors import InvalidInput, InvalidRule

DEFAULT_TOP = 10
DEFAULT_FRACTION = Decimal("0.15")
DEFAULT_ERROR_THRESHOLD = Decimal("0.05")


@dataclass(frozen=True)
class RecheckSample:
    """Entries to re-check: all of the top (by rank) plus a seeded random sample of the rest.

    ``table`` has ``entry_id`` and ``why`` ("top" or "sample"), top first by rank, then the
    sample by entry id.  Same results + same seed -> same sample, on any machine.
    """

    seed: int
    top: int
    fraction: Decimal
    top_ids: tuple
    sampled_ids: tuple
    rest_count: int
    table: pd.DataFrame

    @property
    def entry_ids(self) -> list:
        return list(self.top_ids) + list(self.sampled_ids)


def _draw_key(seed: int, entry_id) -> bytes:
    return hashlib.sha256(f"{seed}|{entry_id}".encode()).digest()


def recheck_sample(
    results: pd.DataFrame,
    top: int = DEFAULT_TOP,
    fraction=DEFAULT_FRACTION,
    seed: int | None = None,
    group_by: str | None = None,
) -> RecheckSample:
    """Choose the sheets to re-check: every entry ranked ``top`` or better (ties included), and
    ceil(``fraction`` x the rest) of the others drawn with ``seed``.

    The draw orders the rest by SHA-256 of ``"<seed>|<entry_id>"`` and takes the smallest, so
    anyone holding the seed can redo it by hand and it does not depend on row order or on a
    library's random generator.  Without a seed a fresh one is made; it is recorded in the
    result.  With ``group_by`` the top is taken per group.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise InvalidRule(f"必查前几名必须是非负整数，当前为{top!r}")
    frac = to_decimal(fraction, "抽查比例", InvalidRule)
    if frac < 0 or frac > 1:
        raise InvalidRule(f"抽查比例必须在0到1之间，当前为{fmt(frac)}")
    if seed is None:
        seed = secrets.randbits(63)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidRule(f"随机种子必须是非负整数，当前为{seed!r}")
    require_columns(results, ["entry_id", "rank"] + ([group_by] if group_by else []), "成绩表")
    ids = pd.Index(results["entry_id"])
    if ids.has_duplicates:
        raise InvalidInput("成绩表中选手编号重复")
    rank = results["rank"].astype("Int64")
    is_top = (rank <= top).fillna(False).to_numpy(dtype=bool)
    entry_code, _ = pd.factorize(results["entry_id"], sort=True)
    groups = pd.factorize(results[group_by], sort=True)[0] if group_by else np.zeros(len(results), np.int64)
    top_order = np.lexsort((entry_code, rank.fillna(0).to_numpy(dtype=np.int64), groups))
    top_ids = tuple(results["entry_id"].to_numpy()[top_order][is_top[top_order]].tolist())
    rest = results["entry_id"].to_numpy()[~is_top].tolist()
    size = math.ceil(Decimal(len(rest)) * frac)
    drawn = sorted(rest, key=lambda e: _draw_key(seed, e))[:size]
    drawn_sorted = tuple(sorted(drawn, key=lambda e: entry_code[ids.get_loc(e)]))
    table = pd.DataFrame(
        {"entry_id": list(top_ids) + list(drawn_sorted), "why": ["top"] * len(top_ids) + ["sample"] * len(drawn_sorted)}
    )
    return RecheckSample(
        seed=seed, top=top, fraction=frac, top_ids=top_ids, sampled_ids=drawn_sorted, rest_count=len(rest), table=table
    )


@dataclass(frozen=True)
class RecheckVerdict:
    """The outcome of a re-check: error rate and whether a full re-check is required."""

    checked: int
    errors: int
    error_rate: Decimal
    threshold: Decimal
    full_recheck_required: bool
    message: str


def recheck_verdict(checked: int, errors: int, threshold=DEFAULT_ERROR_THRESHOLD) -> RecheckVerdict:
    """Rule: an error rate (errors / checked) above ``threshold`` (default 5%) forces a full
    re-check; exactly at the threshold does not.  Compared exactly; ``error_rate`` is shown
    rounded half-up to 4 decimals."""
    for name, v in (("复核份数", checked), ("差错份数", errors)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InvalidInput(f"{name}必须是非负整数，当前为{v!r}")
    if checked == 0:
        raise InvalidInput("复核份数为0，无法计算差错率")
    if errors > checked:
        raise InvalidInput(f"差错份数{errors}不能多于复核份数{checked}")
    thr = to_decimal(threshold, "差错率阈值", InvalidRule)
    if thr < 0 or thr > 1:
        raise InvalidRule(f"差错率阈值必须在0到1之间，当前为{fmt(thr)}")
    required = Decimal(errors) > thr * checked
    rate = (Decimal(errors) / Decimal(checked)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    pct = fmt((rate * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    limit = fmt(thr * 100)
    if required:
        message = f"复核{checked}份，差错{errors}份，差错率{pct}%，超过{limit}%，须全部复核"
    else:
        message = f"复核{checked}份，差错{errors}份，差错率{pct}%，未超过{limit}%，无须全部复核"
    return RecheckVerdict(checked, errors, rate, thr, required, message)


__all__ = ["RecheckSample", "RecheckVerdict", "recheck_sample", "recheck_verdict"]
