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
    app.extensions["page_cache"].clear()  # rendered afresh, as after any change
    with counted(app) as statements:
        page = client.get(f"/notices/{list_id}").get_data(as_text=True)
    table = page.split('id="notice-list"')[1].split("</table>")[0]
    assert table.count("<tr>") == quota + 1
    # the generation, the list, its names in one query, then its amendments (the changed rows
    # only) and any newer version: never a query per name
    assert len(statements) <= 7, statements
    with counted(app) as statements:  # then from the page cache: the generation only
        assert client.get(f"/notices/{list_id}").get_data(as_text=True) == page
    assert len(statements) == 1, statements


def test_a_contestants_portal_page_runs_a_bounded_number_of_queries(app, signed_in,
                                                                     db_session):
    list_id = _list_on_notice(app, 60)
    assert list_id
    entry_id = db_session.scalar(sa.text(
        "SELECT e.id FROM entries e JOIN contestants c ON c.id = e.contestant_id "
        "JOIN users u ON u.id = c.user_id WHERE u.username = 'contestant'"))
    contestant = signed_in("contestant")
    contestant.get(f"/portal/entries/{entry_id}")
    app.extensions["page_cache"].clear()  # rendered afresh, as after any change
    with counted(app) as statements:
        page = contestant.get(f"/portal/entries/{entry_id}").get_data(as_text=True)
    assert "Rank" in page or "名" in page.split('id="my-results"')[1]
    # The user, the generation, the entry with its people, its places with their stages'
    # components, then per stage with published results: the version, the row with its
    # points, the count ranked, the list and the standing; the entry's history -- never one
    # per line of the version.
    assert len(statements) <= 15, statements
    with counted(app) as statements:  # then from the page cache: the user and the generation
        again = contestant.get(f"/portal/entries/{entry_id}").get_data(as_text=True)
    assert again.split('id="my-results"')[1] == page.split('id="my-results"')[1]
    assert len(statements) == 2, statements
    stages = db_session.scalar(sa.select(sa.func.count()).select_from(Stage).join(Track)
                               .where(Track.code == "chem"))
    assert stages == 3


def test_a_score_lookup_runs_a_bounded_number_of_queries(app, visitor, db_session):
    import re

    list_id = _list_on_notice(app, 60)
    exam_number, id_number = db_session.execute(sa.text(
        "SELECT e.exam_number, c.id_number FROM entries e JOIN contestants c "
        "ON c.id = e.contestant_id JOIN stage_entries p ON p.entry_id = e.id "
        "JOIN advancement_entries a ON a.stage_entry_id = p.id "
        "WHERE a.list_id = :l AND a.status = 'advancing' ORDER BY a.position LIMIT 1"),
        {"l": list_id}).one()
    form = visitor.get("/lookup").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    data = {"csrf_token": token, "exam_number": exam_number, "id_number": id_number}
    with counted(app) as statements:
        page = visitor.client.post("/lookup", data=data).get_data(as_text=True)
    assert exam_number in page.split('id="lookup-results"')[1]
    # The generation, the entry with its person, its places with their stages' components,
    # the latest published versions, its rows with their points, the count ranked, the lists
    # and its standing on them, its eligibility-pool decision -- whatever the version's length.
    assert len(statements) <= 11, statements
    with counted(app) as statements:  # again: from the page cache, the generation only
        again = visitor.client.post("/lookup", data=data).get_data(as_text=True)
    assert again.split('id="lookup-results"')[1] == page.split('id="lookup-results"')[1]
    assert len(statements) == 1, statements
