"""How stored values are shown to people: exact scores with the stage's decimals, stored (naive
UTC) moments as the display time zone's wall clock. Templates (as filters), messages, audit
summaries and services use these, never their own formatting."""
from __future__ import annotations

from decimal import Decimal


def fixed_decimals(value, decimals: int = 2):
    """An exact score shown with the stage's decimals (stored values carry more places)."""
    if value is None:
        return ""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-int(decimals))))


def mark_text(value, kind, decimals: int = 2) -> str:
    """A stored mark as the judge entered it: a grade, a number of occurrences or a
    disqualification (0/1) as a whole number, measurement points at the stage's decimals --
    never the stored scale or an exponent ("1E+1")."""
    if value is None:
        return ""
    if getattr(kind, "value", kind) == "measurement":
        return fixed_decimals(value, decimals)
    return str(int(Decimal(value)))


def display_datetime(value, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored (naive UTC) moment as the display time zone's wall clock (Beijing time by
    default), as the templates' ``datetime`` filter shows it; flashes, error messages and audit
    summaries use it too, never the stored UTC."""
    from flask_babel import format_datetime

    return format_datetime(value, fmt) if value else ""


def track_label(contest_name: str, year: int | None, track_name: str) -> str:
    """How a track is named where tracks of several contests are offered together (selectors,
    overviews): its contest's full name -- with the year in front when the name lacks it, so a
    contest copied for the next year never reads the same as the original -- then the track."""
    if year is not None and str(year) not in contest_name:
        contest_name = f"{year}年{contest_name}"
    return f"{contest_name} · {track_name}"
