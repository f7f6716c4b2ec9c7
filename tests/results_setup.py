"""Helpers for tests that publish results: a version is published only after its re-check
(复核), so a test that needs published results first re-checks the version as an organiser
would — draws the sample, finds every entry correct, closes the round."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.models import RecheckRound, ResultsVersion, User
from app.services import rechecks


def pass_recheck(version: ResultsVersion, actor: User, *, seed: int | None = 1) -> RecheckRound:
    """Inside an app context: open the version's re-check, mark every entry correct, close it."""
    round_ = rechecks.open_round(version, actor=actor, seed=seed)
    rechecks.mark_correct(round_, [i.id for i in rechecks.items(round_)], actor=actor)
    rechecks.close(round_, actor=actor)
    return round_


def recheck_and_publish(version: ResultsVersion, actor: User) -> ResultsVersion:
    """Re-check and publish; on a stage with an eligibility pool (the demo's preliminary: top
    100) the pool is then drawn and every member confirmed, as the tests of lists take the
    check as done (tests/services/test_eligibility.py checks the pool itself)."""
    from app.services import results

    pass_recheck(version, actor)
    results.publish(version, actor=actor)
    confirm_everyone_in_pool(version, actor)
    return version


def confirm_everyone_in_pool(version: ResultsVersion, actor: User) -> None:
    """Inside an app context: on a stage with an eligibility pool, draw it from ``version``
    (a published one) if it is not drawn yet and confirm every undecided member; flushed."""
    from app.extensions import db
    from app.models import PoolMember, PoolState
    from app.services import eligibility

    if not eligibility.uses_pool(version.stage):
        return
    pool = eligibility.pool_of(version.stage) or eligibility.draw(version, actor=actor)
    undecided = db.session.scalars(sa.select(PoolMember.id).where(
        PoolMember.pool_id == pool.id, PoolMember.in_pool.is_(True),
        PoolMember.state == PoolState.UNDECIDED)).all()
    if undecided:
        eligibility.decide(pool, undecided, eligible=True, actor=actor)
    db.session.flush()


def pass_recheck_on_the_web(organiser, version_id: int, session) -> None:
    """Through the console as a signed-in organiser (a tests.conftest.Visitor): draw the sample
    from the version page, tick every entry correct, close the round. ``session`` is the
    test's own (the db_session fixture)."""
    opened = organiser.post(f"/admin/results/{version_id}/recheck")
    assert opened.status_code == 302, opened.get_data(as_text=True)[:500]
    round_id = int(re.search(r"/admin/rechecks/(\d+)", opened.location).group(1))
    item_ids = [str(i) for i in session.scalars(
        sa.text("SELECT id FROM recheck_items WHERE round_id = :r").bindparams(r=round_id))]
    ticked = organiser.post(f"/admin/rechecks/{round_id}/correct", {"item_id": item_ids})
    assert ticked.status_code == 302, ticked.get_data(as_text=True)[:500]
    closed = organiser.post(f"/admin/rechecks/{round_id}/close")
    assert closed.status_code == 302, closed.get_data(as_text=True)[:500]


def pass_eligibility_on_the_web(organiser, stage_id: int, session) -> None:
    """Through the console: draw the stage's eligibility pool from its published version and
    confirm every member with the page's batch button. ``session``: the test's own."""
    drawn = organiser.post(f"/admin/stages/{stage_id}/eligibility/draw")
    assert drawn.status_code == 302, drawn.get_data(as_text=True)[:500]
    member_ids = [str(i) for i in session.scalars(sa.text(
        "SELECT m.id FROM pool_members m JOIN eligibility_pools p ON p.id = m.pool_id "
        "WHERE p.stage_id = :s AND m.state = 'undecided'").bindparams(s=stage_id))]
    confirmed = organiser.post(f"/admin/stages/{stage_id}/eligibility/confirm",
                               {"member_id": member_ids})
    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)[:500]


def score_preliminary(seed: int) -> tuple[int, int]:
    """Inside an app context: learning points and theory scores (50–100, seeded) for everyone
    in the chemical preliminary, as the learning platform's and the exam system's imports would
    store them; flushed. Returns the stage's id and how many contestants it has."""
    import random
    from decimal import Decimal

    from app.extensions import db
    from app.models import ComponentScore, Stage, StageEntry, Track

    prelim = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                  Stage.seq == 1))
    places = db.session.scalars(sa.select(StageEntry).where(StageEntry.stage_id == prelim.id)
                                .order_by(StageEntry.id)).all()
    rng = random.Random(seed)
    for component in prelim.components:
        for place in places:
            db.session.add(ComponentScore(
                component_id=component.id, stage_entry_id=place.id, judges=1, complete=True,
                points=Decimal(rng.randint(5000, 10000)) / 100))
    db.session.flush()
    return prelim.id, len(places)


def confirmed_post(visitor, url: str, data: dict | None = None, **kwargs):
    """POST an action that asks for confirmation, as the organiser does: the first POST shows
    what will happen (asserted: a confirmation page, nothing done), the second carries the
    confirmation's stamp from that page. Returns the second response."""
    asked = visitor.post(url, data)
    page = asked.get_data(as_text=True)
    stamp = re.search(r'name="confirm" value="([0-9a-f]+)"', page)
    assert asked.status_code == 200 and stamp, page[:800]
    return visitor.post(url, {**(data or {}), "confirm": stamp.group(1)}, **kwargs)


def make_top_scorer_98_24(prelim):
    """The first contestant's learning points and theory both 98.24: total 98.24, rank 1
    (everyone else's scores at most 98.00). Inside an app context; flushed."""
    from decimal import Decimal

    from app.extensions import db
    from app.models import ComponentScore, StageEntry

    place = db.session.scalar(sa.select(StageEntry).where(StageEntry.stage_id == prelim.id)
                              .order_by(StageEntry.id).limit(1))
    for score in db.session.scalars(sa.select(ComponentScore).join(StageEntry).where(
            StageEntry.stage_id == prelim.id)):
        if score.stage_entry_id == place.id:
            score.points = Decimal("98.24")
        elif score.points > Decimal("98.00"):
            score.points = Decimal("98.00")
    db.session.flush()
    return place


def correct_theory_to_88_24(place) -> None:
    """0.4 × 98.24 + 0.6 × 88.24 = 92.24: the corrected theory score. Flushed."""
    from decimal import Decimal

    from app.extensions import db
    from app.models import ComponentScore

    theory = next(c for c in place.stage.components if c.code == "theory")
    db.session.scalar(sa.select(ComponentScore).where(
        ComponentScore.stage_entry_id == place.id,
        ComponentScore.component_id == theory.id)).points = Decimal("88.24")
    db.session.flush()
def publish_preliminary_under_notice(seed: int) -> dict:
    """Inside an app context: the chemical preliminary scored, computed, re-checked, published,
    its advancement list drawn up and put under public notice; flushed. Returns the stage,
    version and list ids."""
    from app.extensions import db
    from app.models import Stage
    from app.services import results

    organiser = db.session.scalar(sa.select(User).where(User.username == "organiser"))
    stage_id, _people = score_preliminary(seed)
    stage = db.session.get(Stage, stage_id)
    version = results.create_version(stage, actor=organiser, reason="首次计算")
    recheck_and_publish(version, organiser)
    listing = results.generate_list(version, actor=organiser)
    results.start_notice(listing, actor=organiser)
    db.session.flush()
    return {"stage_id": stage_id, "version_id": version.id, "list_id": listing.id}
