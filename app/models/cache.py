"""The published data's generation: one counter the page cache keys on (app/page_cache.py)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class CacheGeneration(db.Model):
    """One row (id 1) whose ``n`` goes up in the same transaction as any change to the data the
    cached pages show (app/page_cache.py bumps it at commit). Every gunicorn worker reads it
    before it serves a cached page, so a page cached before a change is never served after the
    change has committed, whichever worker cached it."""

    __tablename__ = "cache_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
