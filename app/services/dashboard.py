"""Figures for the organiser's dashboard."""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Contest, Entry, EntryStatus, Track


def entries_by_status(contest: Contest) -> list[dict]:
    """Per track of the contest: its entries counted by review status, and the total."""
    counts = db.session.execute(
        sa.select(Entry.track_id, Entry.status, sa.func.count())
        .where(Entry.contest_id == contest.id)
        .group_by(Entry.track_id, Entry.status)).all()
    by_track: dict[int, dict[EntryStatus, int]] = {}
    for track_id, status, n in counts:
        by_track.setdefault(track_id, {})[status] = n
    tracks = db.session.scalars(
        sa.select(Track).where(Track.contest_id == contest.id).order_by(Track.sort_order)).all()
    rows = []
    for track in tracks:
        statuses = by_track.get(track.id, {})
        rows.append({
            "track": track,
            "counts": {status: statuses.get(status, 0) for status in EntryStatus},
            "total": sum(statuses.values()),
        })
    return rows


def contests() -> list[Contest]:
    return list(db.session.scalars(sa.select(Contest).order_by(Contest.year.desc(), Contest.id)))
