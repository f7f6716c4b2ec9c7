"""The chemical advanced stage ready for results: 8 contestants drawn, the practical marked by
the five judges and signed off by the chief judge, theory and digital twin stored as imported.

Every judge gives a workstation the same marks, so its practical points are exact by hand:
the k-th workstation (in number order) gets B3 = 10 − k and A2 = 10, i.e. 95 − k points; theory
and twin are equal for everyone, so the ranks follow the workstations' order."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import Component, ComponentScore, PanelRole, StageEntry
from app.services import accounts, judging, score_sheets
from tests.judging_setup import prepare_practical

MARKS = {"A1": "10", "A2": "10", "A3": "3", "B1": "3", "B2": "3", "B3": "10", "C1": "0",
         "C2": "0"}


def marks_for(k: int) -> dict[str, str]:
    return {**MARKS, "B3": str(10 - k)}


def signed_off_stage(n: int = 8) -> dict:
    """Inside an app context: the stage as above, committed; returns the ids tests need:
    ``practical``, ``stage``, and ``places`` (stage entry ids in workstation order)."""
    practical = db.session.get(Component, prepare_practical(n=n))
    stage = practical.stage
    places = db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == stage.id)
                                .order_by(StageEntry.workstation_number)).all()
    order = {p.id: k for k, p in enumerate(places)}
    for assignment in judging.panel(practical):
        if assignment.panel_role != PanelRole.JUDGE:
            continue
        judge = assignment.user
        for place in judging.judge_places(assignment):
            sheet = score_sheets.sheet_for(practical, judge, place.workstation_number, create=True)
            score_sheets.save(sheet, marks_for(order[place.id]), {}, "0", version=sheet.version,
                              actor=judge)
            score_sheets.submit(sheet, version=sheet.version, actor=judge)
    judging.sign_off(practical, actor=accounts.get_by_username("chief"))
    for component in stage.components:
        if component.id == practical.id:
            continue
        for place in places:
            db.session.add(ComponentScore(component_id=component.id, stage_entry_id=place.id,
                                          judges=1, points=Decimal("80")))
    db.session.commit()
    return {"practical": practical.id, "stage": stage.id, "places": [p.id for p in places]}
