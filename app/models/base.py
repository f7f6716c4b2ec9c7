"""Column types and helpers shared by every model module."""
from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa


def utcnow() -> datetime:
    """Naive UTC: stored the same on SQLite and PostgreSQL; shown in the display timezone."""
    return datetime.now(UTC).replace(tzinfo=None)


class ScaledDecimal(sa.types.TypeDecorator):
    """An exact decimal stored as an integer count of 10**-scale units on every database.

    SQLite has no exact decimal type, so NUMERIC there would pass through binary floats. A value
    with more decimals than the column holds is refused, never rounded silently: rounding is a
    published rule and belongs to scoring/.
    """

    impl = sa.BigInteger
    cache_ok = True

    def __init__(self, scale: int):
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("scores are exact: pass Decimal, int or str, never float")
        scaled = Decimal(value).scaleb(self.scale)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        return int(scaled)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.scale)


def str_enum(enum_cls: type[enum.Enum], length: int = 24) -> sa.Enum:
    """A portable enum column holding the members' values as VARCHAR."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# Scales used across the schema (points to 3 places so a judgement mark of 2/3 × 5 is not lost
# before the published rounding; published figures at most 4 places).
POINTS = 3
PUBLISHED = 4
