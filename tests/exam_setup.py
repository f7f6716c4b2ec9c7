"""A theory exam with answer sheets kept for the chemical preliminary, and one planted wrong key,
for the exam quality tests (services and pages)."""
from decimal import Decimal

import numpy as np
import sqlalchemy as sa

from app.extensions import db
from app.models import ComponentScore, ExamQuestion, QuestionKind, Stage, StageEntry, Track

WRONG = 12  # the question whose key names C while the right answer is B


def stored_answer_sheets():
    """The chemical preliminary with 20 five-point questions on its theory exam (key B, but C
    for question 12), answers drawn from an ability model, the theory points marked by that
    key, and learning points for everyone. Returns (theory component, answers by stage entry)."""
    prelim = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                  Stage.seq == 1))
    theory = next(c for c in prelim.components if c.code == "theory")
    learning = next(c for c in prelim.components if c.code != "theory")
    for n in range(1, 21):
        db.session.add(ExamQuestion(component=theory, number=n, kind=QuestionKind.SINGLE_CHOICE,
                                    answer_key="C" if n == WRONG else "B", points=Decimal(5)))
    places = db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == prelim.id)
                                .order_by(StageEntry.id)).all()
    rng = np.random.default_rng(11)
    ability = rng.normal(size=len(places))
    by_entry = {}
    for k, place in enumerate(places):
        answers = {}
        for n in range(1, 21):
            p = 1 / (1 + np.exp(-(ability[k] - (n - 10) / 6) * 1.7))
            answers[str(n)] = "B" if rng.random() < p else str(rng.choice(list("ACD")))
        by_entry[place.id] = answers
        right = sum(1 for n, a in answers.items() if a == ("C" if n == str(WRONG) else "B"))
        db.session.add(ComponentScore(component_id=theory.id, stage_entry_id=place.id,
                                      judges=1, points=Decimal(5 * right),
                                      details={"answers": answers}))
        db.session.add(ComponentScore(component_id=learning.id, stage_entry_id=place.id,
                                      judges=1, points=Decimal(int(rng.integers(6000, 9000))) / 100))
    db.session.flush()
    return theory, by_entry


