"""Times the organiser reads about a public notice are Beijing time (the display time zone), as
the pages show them, never the UTC the database stores: the flash on starting the notice, the
refusal to finalise before it ends, and the audit log's summary."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import AdvancementList, AuditLog


@pytest.fixture
def list_id(app, db_session):
    """A draft advancement list of the preliminary's published results."""
    from app.extensions import db
    from app.services import accounts, results
    from tests.results_setup import recheck_and_publish
    from tests.whatif_setup import build_ladder

    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        version = results.create_version(build_ladder().stage, actor=organiser)
        recheck_and_publish(version, organiser)
        listing = results.generate_list(version, actor=organiser)
        db.session.commit()
        return listing.id


def test_the_notice_s_end_is_shown_in_beijing_time(signed_in, list_id, db_session):
    organiser = signed_in("organiser")
    started = organiser.post(f"/admin/lists/{list_id}/notice", follow_redirects=True)
    assert started.status_code == 200
    ends = db_session.get(AdvancementList, list_id).notice_ends_at  # naive UTC
    beijing = (ends + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    utc = ends.strftime("%Y-%m-%d %H:%M")
    assert beijing != utc
    page = started.get_data(as_text=True)
    assert f"名单公示至{beijing}。" in page  # the flash
    assert utc not in page

    refused = organiser.post(f"/admin/lists/{list_id}/finalise", follow_redirects=True)
    text = refused.get_data(as_text=True)
    assert f"公示期至{beijing}结束" in text and utc not in text

    summary = db_session.scalar(sa.select(AuditLog.summary).where(
        AuditLog.action == "list.notice"))
    assert beijing in summary and utc not in summary
