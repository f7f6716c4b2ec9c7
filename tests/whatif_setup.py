"""Scores for the demo's chemical preliminary (learning 40% + theory 60%, quota 60, at most 5 per
enterprise, ties broken by theory then learning) whose ranks can be worked out by hand.

The 159 contestants stand on a ladder: enterprises taken in turn (the first contestant of every
enterprise, then the second of every enterprise, …), so no enterprise has more than 3 of the top
80 and the cap never decides. On the ladder, position k (0-based) has learning 50 and theory
90 − 0.25k: total 74 − 0.15k at 40/60 (78 − 0.175k at 30/70), so rank k + 1 — except:

* A (position 0): learning 70, theory 90 → 82 at 40/60, 84 at 30/70;
* B (position 1): learning 90, theory 80 → 84 at 40/60, 83 at 30/70;
  so B is first and A second at 40/60, and at 30/70 they swap; nobody else moves;
* X (position 59) and Y (position 60): both total 65.10 at 40/60 (X: learning 48.75, theory
  76; Y: learning 50.25, theory 75), between 65.30 (position 58) and 64.85 (position 61). The
  tie-break (theory) puts X 60th and Y 61st: with the quota of 60 the cut-off tie is broken, and
  under "everyone tied advances" Y advances too. At 30/70 they stay 60th and 61st (X 67.825 →
  67.83, Y 67.575 → 67.58, between 67.85 and 67.33).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import ComponentScore, Entry, Stage, StageEntry, Track


@dataclass
class Ladder:
    stage: Stage
    order: list[int]  # stage entry ids, position 0 first

    @property
    def a(self) -> int:
        return self.order[0]

    @property
    def b(self) -> int:
        return self.order[1]

    @property
    def x(self) -> int:
        return self.order[59]

    @property
    def y(self) -> int:
        return self.order[60]


SPECIAL = {0: ("70", "90"), 1: ("90", "80"), 59: ("48.75", "76"), 60: ("50.25", "75")}


def preliminary() -> Stage:
    return db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                Stage.seq == 1))


def build_ladder() -> Ladder:
    """Inside an app context: store the ladder's scores (flushed, not committed)."""
    stage = preliminary()
    places = db.session.execute(
        sa.select(StageEntry.id, Entry.enterprise_id).join(Entry, Entry.id == StageEntry.entry_id)
        .where(StageEntry.stage_id == stage.id).order_by(StageEntry.id)).all()
    seen: dict[int, int] = {}
    turns = []
    for place_id, enterprise_id in places:
        turns.append((seen.get(enterprise_id, 0), enterprise_id, place_id))
        seen[enterprise_id] = seen.get(enterprise_id, 0) + 1
    order = [place_id for _turn, _enterprise, place_id in sorted(turns)]
    codes = {c.code: c.id for c in stage.components}
    for k, place_id in enumerate(order):
        learning, theory = SPECIAL.get(k, ("50", str(Decimal(90) - Decimal("0.25") * k)))
        for code, points in (("learning", learning), ("theory", theory)):
            db.session.add(ComponentScore(component_id=codes[code], stage_entry_id=place_id,
                                          judges=1, complete=True, points=Decimal(points)))
    db.session.flush()
    return Ladder(stage, order)
