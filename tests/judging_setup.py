"""Put contestants into the demo's chemical advanced stage and draw it, so its practical can be
judged (the advancement list that would do this in a real contest is another part's work)."""
import sqlalchemy as sa

from app.extensions import db
from app.models import Component, Entry, EntryStatus, Stage, StageEntry, Track
from app.services import accounts, judging


def prepare_practical(n: int = 8, seed: str = "fixed-seed") -> int:
    """Inside an app context: n approved chemical entries (the first from judge1's enterprise)
    placed in the advanced stage and drawn; returns the practical component's id."""
    stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                 Stage.seq == 2))
    judge1, judge2 = accounts.get_by_username("judge1"), accounts.get_by_username("judge2")
    own = db.session.scalar(sa.select(Entry).where(Entry.enterprise_id == judge1.enterprise_id,
                                                   Entry.status == EntryStatus.APPROVED))
    others = db.session.scalars(sa.select(Entry).where(
        Entry.enterprise_id.not_in([judge1.enterprise_id, judge2.enterprise_id]),
        Entry.status == EntryStatus.APPROVED, Entry.track_id == stage.track_id)
        .order_by(Entry.id).limit(n - 1)).all()
    for entry in [own, *others]:
        db.session.add(StageEntry(stage=stage, entry=entry))
    db.session.flush()
    judging.draw(stage, seed=seed, actor=accounts.get_by_username("organiser"))
    component: Component = next(c for c in stage.components if c.code == "practical")
    db.session.commit()
    return component.id
