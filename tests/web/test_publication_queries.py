"""Publication-day pages run a fixed number of queries, whatever the length of the list or the
version: the public notice and a signed-in contestant's portal (the benchmark is
bench/publication.py). Counted on the real database, around real requests."""
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Stage, Track
from app.services import accounts, results
from tests.results_setup import recheck_and_publish, score_preliminary


@contextmanager
def counted(app):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):  # not the test's savepoints
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _list_on_notice(app, quota: int) -> int:
    """The demo's chemical preliminary scored, published, and a list of ``quota`` names put
    under public notice; its id."""
    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        stage_id, _n = score_preliminary(seed=11)
        prelim = db.session.get(Stage, stage_id)
        prelim.quota = quota
        version = recheck_and_publish(results.create_version(prelim, actor=organiser), organiser)
        listing = results.generate_list(version, actor=organiser)
        results.start_notice(listing, actor=organiser)
        db.session.commit()
        return listing.id


@pytest.mark.parametrize("quota", [10, 60])
def test_the_public_notice_takes_a_few_queries_whatever_the_lists_length(app, client, quota):
    list_id = _list_on_notice(app, quota)
    client.get(f"/notices/{list_id}")  # warm: the first request loads the translations
    with counted(app) as statements:
        page = client.get(f"/notices/{list_id}").get_data(as_text=True)
    table = page.split('id="notice-list"')[1].split("</table>")[0]
    assert table.count("<tr>") == quota + 1
    # the list, its names in one query, then its amendments and any newer version: never a
    # query per name
    assert len(statements) <= 6, statements


def test_a_contestants_portal_page_runs_a_bounded_number_of_queries(app, signed_in,
                                                                     db_session):
    list_id = _list_on_notice(app, 60)
    assert list_id
    entry_id = db_session.scalar(sa.text(
        "SELECT e.id FROM entries e JOIN contestants c ON c.id = e.contestant_id "
        "JOIN users u ON u.id = c.user_id WHERE u.username = 'contestant'"))
    contestant = signed_in("contestant")
    contestant.get(f"/portal/entries/{entry_id}")
    with counted(app) as statements:
        page = contestant.get(f"/portal/entries/{entry_id}").get_data(as_text=True)
    assert "Rank" in page or "名" in page.split('id="my-results"')[1]
    # The user, the entry with its people, its places with their stages' components, then per
    # stage with published results: the version, the row with its points, the count ranked,
    # the list and the standing; the entry's history -- never one per line of the version.
    assert len(statements) <= 14, statements
    stages = db_session.scalar(sa.select(sa.func.count()).select_from(Stage).join(Track)
                               .where(Track.code == "chem"))
    assert stages == 3
