"""Exact arithmetic for published numbers: scaled integers, half-up rounding, Decimal output.

A number published with ``d`` decimals is held as an int64 count of its smallest unit
``10**-d`` ("units"): 88.79 points at d=2 is 8879 units.  Sums and products of such counts are
exact; a division is rounded half-up (四舍五入, ties away from zero) with integer arithmetic only.
Binary floats are accepted on input solely as a transport for numbers that already have at
most ``d`` decimals; they are converted to units at once and rejected when they do not sit
exactly on a unit.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pandas as pd

from .errors import InvalidInput, ScoringError

# A float is taken to be "on a unit" when it is this close (in units) to an integer: a float
# of a 2-decimal number below 10**9 is within 1e-6 units of its integer, a typo like 1.234 at
# d=2 is 0.4 units away.
_FLOAT_TOLERANCE = 1e-6
# Largest unit count accepted from any input (about 9.2e14 points at d=2): products of two such
# counts in the results path stay far inside int64 because maxima are validated far lower.
MAX_UNITS = 2**53


def to_decimal(value, what: str, error_cls: type[ScoringError] = ScoringError) -> Decimal:
    """Return ``value`` as a Decimal; floats go through their shortest repr (0.3 -> 0.3)."""
    if isinstance(value, bool):
        raise error_cls(f"{what}必须是数值，当前为{value}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, Fraction):
        if 10**30 % value.denominator:
            raise error_cls(f"{what}不是有限小数：{value}")
        result = Decimal(value.numerator) / Decimal(value.denominator)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise error_cls(f"{what}不是数值：{value!r}") from None
    else:
        raise error_cls(f"{what}必须是数值，当前为{value!r}")
    if not result.is_finite():
        raise error_cls(f"{what}必须是有限数值，当前为{value}")
    return result


def decimal_places_ok(value: Decimal, decimals: int) -> bool:
    scaled = value.scaleb(decimals)
    return scaled == scaled.to_integral_value()


def to_units(value, decimals: int, what: str, error_cls: type[ScoringError] = ScoringError) -> int:
    """Exact unit count of ``value`` at ``decimals``; more decimals than that is an error."""
    dec = to_decimal(value, what, error_cls)
    if not decimal_places_ok(dec, decimals):
        raise error_cls(f"{what}最多保留{decimals}位小数，当前为{dec}")
    units = int(dec.scaleb(decimals))
    if abs(units) > MAX_UNITS:
        raise error_cls(f"{what}数值过大：{dec}")
    return units


def fmt(value) -> str:
    """Format a Decimal for a message without exponent noise: 95 not 9.5E+1, 60.5 not 60.50."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    return str(value)


def units_fmt(units: int, decimals: int) -> str:
    return fmt(Decimal(int(units)).scaleb(-decimals))


def column_to_units(series: pd.Series, decimals: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert a column of numbers to int64 units at ``decimals``.

    Returns ``(units, missing, bad)``: ``missing`` marks None/NaN, ``bad`` marks values that are
    not numbers or have more than ``decimals`` decimals (their units are 0).  Accepts int, bool,
    float and object (Decimal, int, float, str) columns; object columns are converted once per
    distinct value.
    """
    n = len(series)
    values = series.to_numpy()
    scale = 10**decimals
    if values.dtype.kind in "iu":
        if n and (values.max() > MAX_UNITS // scale or values.min() < -MAX_UNITS // scale):
            big = (values > MAX_UNITS // scale) | (values < -MAX_UNITS // scale)
            units = np.where(big, 0, values).astype(np.int64) * scale
            return units, np.zeros(n, bool), big
        return values.astype(np.int64) * scale, np.zeros(n, bool), np.zeros(n, bool)
    if values.dtype.kind == "b":
        return values.astype(np.int64) * scale, np.zeros(n, bool), np.zeros(n, bool)
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        scaled = np.where(missing, 0.0, values) * scale
        rounded = np.rint(scaled)
        bad = (np.abs(scaled - rounded) > _FLOAT_TOLERANCE) | (np.abs(rounded) > MAX_UNITS)
        units = np.where(bad, 0, rounded).astype(np.int64)
        return units, missing, bad
    # object / str / extension dtypes: convert each distinct value once.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    uniq_units = np.zeros(len(uniques), np.int64)
    uniq_bad = np.zeros(len(uniques), bool)
    for i, value in enumerate(uniques.tolist() if hasattr(uniques, "tolist") else list(uniques)):
        if type(value) is Decimal and value.is_finite():
            # The common case (a database's exact numbers): what to_units does, minus its
            # checks for other types; anything it would refuse still goes through it below.
            scaled = value.scaleb(decimals)
            whole = int(scaled)
            if whole == scaled and abs(whole) <= MAX_UNITS:
                uniq_units[i] = whole
                continue
        try:
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, bool):
                value = int(value)
            uniq_units[i] = to_units(value, decimals, "数值")
        except ScoringError:
            uniq_bad[i] = True
    missing = codes < 0
    safe = np.where(missing, 0, codes)
    units = np.where(missing, 0, uniq_units[safe]) if len(uniques) else np.zeros(n, np.int64)
    bad = np.where(missing, False, uniq_bad[safe]) if len(uniques) else np.zeros(n, bool)
    return units.astype(np.int64), missing, bad


def half_up_div(num: np.ndarray, den) -> np.ndarray:
    """Round ``num / den`` half-up (ties away from zero) for int arrays, ``den > 0``."""
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    pos = (2 * num + den) // (2 * den)
    neg = -((2 * -num + den) // (2 * den))
    return np.where(num >= 0, pos, neg)


def half_up_div_int(num: int, den: int) -> int:
    """Python-int version of :func:`half_up_div` (no overflow)."""
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((2 * -num + den) // (2 * den))


_BLOCK = 16384


@lru_cache(maxsize=64)
def _decimal_table(decimals: int, lo: int, hi: int) -> np.ndarray:
    table = np.empty(hi - lo + 1, dtype=object)
    table[:] = [Decimal(u).scaleb(-decimals) for u in range(lo, hi + 1)]
    table.flags.writeable = False
    return table


def units_to_decimals(units: np.ndarray, decimals: int, missing: np.ndarray | None = None) -> np.ndarray:
    """Object array of Decimals (None where ``missing``) for int64 ``units``.

    Equal values share one Decimal object; small ranges go through a cached table so 100,000
    values cost a single array take.
    """
    units = np.asarray(units, dtype=np.int64)
    n = len(units)
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    present = np.ones(n, bool) if missing is None else ~np.asarray(missing, bool)
    if not present.any():
        return out
    vals = units[present]
    lo, hi = int(vals.min()), int(vals.max())
    # Cached tables in blocks of 16,384 units (163.84 points at d=2) so repeated calls reuse them.
    lo_block = (lo // _BLOCK) * _BLOCK
    hi_block = (hi // _BLOCK + 1) * _BLOCK - 1
    if hi_block - lo_block < 8 * _BLOCK:
        table = _decimal_table(decimals, lo_block, hi_block)
        out[present] = table[vals - lo_block]
    else:
        uniq, inverse = np.unique(vals, return_inverse=True)
        objs = np.empty(len(uniq), dtype=object)
        objs[:] = [Decimal(int(u)).scaleb(-decimals) for u in uniq]
        out[present] = objs[inverse]
    return out


def floor_ratio_sqrt(p: int, q: int) -> int:
    """``floor(p / sqrt(q))`` exactly, for Python ints ``p`` (any sign) and ``q > 0``."""
    s = math.isqrt(p * p // q)
    if p >= 0:
        return s
    exact = s * s * q == p * p
    return -(s if exact else s + 1)


def round_c_plus_ratio_sqrt(c: int, p: int, q: int) -> int:
    """Round ``c + p / sqrt(q)`` half-up (ties away from zero) to an integer, exactly.

    Used for standardisation, where a standard deviation (a square root) divides: the result is
    the correctly rounded value, not a float approximation.
    """
    floor_2v = 2 * c + floor_ratio_sqrt(2 * p, q)
    if floor_2v >= 0:
        return (floor_2v + 1) // 2
    floor_neg_2v = -2 * c + floor_ratio_sqrt(-2 * p, q)
    return -((floor_neg_2v + 1) // 2)


def require_columns(df: pd.DataFrame, columns: list[str] | tuple[str, ...], table: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"{table}必须是 pandas DataFrame，当前为{type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInput(f"{table}缺少列：{'、'.join(missing)}")


def bool_column(df: pd.DataFrame, column: str, default: bool = False) -> np.ndarray:
    """A flag column as a numpy bool array; missing values count as ``default``."""
    if column not in df.columns:
        return np.full(len(df), default, dtype=bool)
    col = df[column]
    if col.dtype.kind == "b":
        return col.to_numpy(dtype=bool)
    return col.fillna(default).astype(bool).to_numpy(dtype=bool)


def order_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dense ascending order codes of any orderable column, and its missing mask (code -1)."""
    codes, _ = pd.factorize(series, sort=True, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    return codes, codes < 0


def sort_order(keys: list[np.ndarray]) -> np.ndarray:
    """Indices that sort rows by ``keys`` (most significant first, each ascending).

    Keys are packed into as few int64 numbers as fit, so 100,000 rows by six keys cost one or two
    integer sorts instead of a six-key lexsort.
    """
    packed: list[np.ndarray] = []
    cur = None
    cur_range = 1
    for key in keys:
        key = np.asarray(key, dtype=np.int64)
        if len(key) == 0:
            return np.zeros(0, np.int64)
        lo = int(key.min())
        rng = int(key.max()) - lo + 1
        shifted = key - lo
        if cur is not None and cur_range * rng < 2**62:
            cur = cur * rng + shifted
            cur_range *= rng
        else:
            if cur is not None:
                packed.append(cur)
            cur, cur_range = shifted, rng
    if cur is None:
        return np.zeros(0, np.int64)
    packed.append(cur)
    if len(packed) == 1:
        return np.argsort(packed[0], kind="stable")
    return np.lexsort(packed[::-1])
