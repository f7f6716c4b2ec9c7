"""The draw page names each sitting's draw by the sitting's name, never its internal id."""
import re

import sqlalchemy as sa

from app.models import Entry, EntryStatus, Stage, StageEntry, Track


def test_the_draw_page_names_the_sittings_whose_draws_were_sealed(app, signed_in, db_session):
    from app.extensions import db
    from app.services import accounts, judging, sittings

    with app.app_context():
        stage = db.session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                     Stage.seq == 2))
        for entry in db.session.scalars(sa.select(Entry).where(
                Entry.track_id == stage.track_id, Entry.status == EntryStatus.APPROVED)
                .order_by(Entry.id).limit(4)):
            db.session.add(StageEntry(stage=stage, entry=entry))
        db.session.flush()
        for n in (1, 2):
            sittings.create_sitting(stage, {"name": f"实操第{n}场", "venue": "南京",
                                            "room": f"B20{n}"})
        sittings.assign_automatically(stage)
        judging.draw(stage, seed="draw-page", actor=accounts.get_by_username("organiser"))
        db.session.commit()
        stage_id, ids = stage.id, [s.id for s in stage.sittings]

    page = signed_in("organiser").get(f"/admin/stages/{stage_id}/draw").get_data(as_text=True)
    sealed = page.split("</h1>")[1].split("</p>")[0]
    assert "实操第1场" in sealed and "实操第2场" in sealed
    assert not any(re.search(rf"\({i}\)|（{i}）", sealed) for i in ids)
