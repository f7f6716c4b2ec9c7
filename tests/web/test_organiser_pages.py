"""The organiser's list and print pages at full size: a page at a time, a fixed number of
queries whatever the number of rows (never one per row), the total shown, and the list's
filters and page kept in the links back to it. Counted on the real database, around real
requests, on the demo (252 registrations in the configuration-only demo)."""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Entry, EntryStatus, Stage, Track
from app.services import accounts, results
from tests.results_setup import recheck_and_publish, score_preliminary
from tests.web.test_publication_queries import counted


def _rows(page: str, table_marker: str) -> int:
    table = page.split(table_marker)[1].split("</tbody>")[0]
    return table.count("<tr")


def test_the_registration_list_takes_the_same_queries_for_one_row_as_for_fifty(app, signed_in,
                                                                                 db_session):
    organiser = signed_in("organiser")
    total = db_session.scalar(sa.select(sa.func.count()).select_from(Entry))
    name = db_session.scalars(sa.select(Entry).order_by(Entry.id)).first().contestant.name
    assert total > 100
    organiser.get("/admin/entries")  # warm: the first request loads the translations
    with counted(app) as full_page:
        page = organiser.get("/admin/entries").get_data(as_text=True)
    with counted(app) as one_row:
        single = organiser.get(f"/admin/entries?q={name}").get_data(as_text=True)
    assert page.count('name="entry_id"') == 50
    assert f"共 {total} 条 · 第 1/{-(-total // 50)} 页" in page
    assert single.count('name="entry_id"') >= 1
    # the user, the page with each row's person, enterprise and track, its count, the counts by
    # status, category and city, the filters' options: never a query per row
    assert len(full_page) == len(one_row) <= 12, full_page


def test_the_entry_page_and_its_actions_lead_back_to_the_list_with_its_filters_and_page(
        signed_in, db_session):
    organiser = signed_in("organiser")
    track_id = db_session.scalar(sa.select(Track.id).where(Track.code == "chem"))
    listed = f"/admin/entries?track={track_id}&status=approved&page=2"
    page = organiser.get(listed).get_data(as_text=True)
    entry_id = int(re.search(r'/admin/entries/(\d+)\?', page).group(1))
    link = re.search(rf'href="(/admin/entries/{entry_id}\?[^"]+)"', page).group(1)
    link = link.replace("&amp;", "&")
    assert "page=2" in link and "status=approved" in link and f"track={track_id}" in link
    detail = organiser.get(link).get_data(as_text=True)
    back = re.search(r'href="([^"]+)" id="back-to-list"', detail).group(1).replace("&amp;", "&")
    assert back.startswith("/admin/entries?") and "page=2" in back
    assert "status=approved" in back and f"track={track_id}" in back

    # an action on an entry comes back to the entry page, still knowing the list's place
    submitted = db_session.scalar(sa.select(Entry.id).where(
        Entry.track_id == track_id, Entry.status == EntryStatus.SUBMITTED).limit(1))
    place = f"track={track_id}&status=submitted&page=2"
    done = organiser.post(f"/admin/entries/{submitted}/review?{place}",
                          {"action": "reject", "reason": "材料不全"})
    assert done.status_code == 302
    assert done.headers["Location"].startswith(f"/admin/entries/{submitted}?")
    assert "page=2" in done.headers["Location"] and "status=submitted" in done.headers["Location"]
    # the bulk review on the list goes back to the same page of the same filters
    bulk = organiser.post("/admin/entries/review", {
        "entry_id": [str(submitted)], "action": "reject", "reason": "材料不全",
        "track": str(track_id), "status": "submitted", "page": "2"})
    assert bulk.status_code == 302
    assert bulk.headers["Location"].startswith("/admin/entries?")
    assert "page=2" in bulk.headers["Location"] and "status=submitted" in bulk.headers["Location"]


def _list_on_notice(app, quota: int) -> tuple[int, int]:
    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        stage_id, ranked = score_preliminary(seed=5)
        prelim = db.session.get(Stage, stage_id)
        prelim.quota = quota
        prelim.review_pool = None  # every ranked contestant on the list, not a pool's 100
        version = recheck_and_publish(results.create_version(prelim, actor=organiser), organiser)
        listing = results.generate_list(version, actor=organiser)
        results.start_notice(listing, actor=organiser)
        db.session.commit()
        return listing.id, ranked


@pytest.mark.parametrize("quota", [10, 60])
def test_an_advancement_list_page_shows_a_page_of_rows_in_a_fixed_number_of_queries(
        app, signed_in, quota):
    list_id, ranked = _list_on_notice(app, quota)
    organiser = signed_in("organiser")
    organiser.get(f"/admin/lists/{list_id}")
    with counted(app) as statements:
        page = organiser.get(f"/admin/lists/{list_id}").get_data(as_text=True)
    assert ranked > 100
    assert _rows(page, 'id="advancement"') == 1 + 100  # the header and the first 100 rows
    assert f"共 {ranked} 条 · 第 1/{-(-ranked // 100)} 页" in page
    # the objection form names every advancer, still without a query per name
    chooser = page.split('id="o-target"')[1].split("</select>")[0]
    assert chooser.count("<option") == quota
    assert len(statements) <= 14, statements
    with counted(app) as last_page:
        tail = organiser.get(f"/admin/lists/{list_id}?page={-(-ranked // 100)}")
    assert _rows(tail.get_data(as_text=True), 'id="advancement"') == 1 + (ranked - 1) % 100 + 1
    assert len(last_page) <= 14, last_page


def test_tickets_print_in_batches_of_a_hundred_in_a_fixed_number_of_queries(app, signed_in,
                                                                             db_session):
    track = db_session.scalar(sa.select(Track).where(Track.code == "chem"))
    printable = db_session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
        Entry.track_id == track.id, Entry.status == EntryStatus.APPROVED,
        Entry.exam_number.is_not(None)))
    assert printable > 100
    organiser = signed_in("organiser")
    organiser.get(f"/admin/tracks/{track.id}/tickets")
    with counted(app) as statements:
        page = organiser.get(f"/admin/tracks/{track.id}/tickets").get_data(as_text=True)
    assert page.count('<article class="ticket"') == 100
    assert f"共 {printable} 张准考证" in page
    batches = -(-printable // 100)
    assert f"本页为第 1 批（共 {batches} 批）" in page
    assert len(statements) <= 10, statements
    last = organiser.get(f"/admin/tracks/{track.id}/tickets?batch={batches}").get_data(
        as_text=True)
    assert last.count('<article class="ticket"') == printable - 100 * (batches - 1)
    assert f"第 {100 * (batches - 1) + 1}–{printable} 张" in last


def test_the_results_overview_reads_every_stage_in_a_few_queries(app, signed_in, db_session):
    organiser = signed_in("organiser")
    organiser.get("/admin/results")
    with counted(app) as statements:
        page = organiser.get("/admin/results").get_data(as_text=True)
    with_components = db_session.scalar(sa.select(sa.func.count(sa.distinct(
        sa.text("stage_id")))).select_from(sa.text("components")))
    assert with_components >= 3
    assert len(re.findall(r'/admin/stages/\d+/results"', page)) == with_components
    # the user, the stages with their tracks, contests and components, which imported
    # components have scores, the versions counted per stage: never a query per stage
    assert len(statements) <= 6, statements


def test_a_stages_sign_in_sheets_take_a_few_queries_whatever_the_number_of_people(
        app, signed_in, db_session):
    prelim = db_session.scalar(sa.select(Stage).join(Track).where(Track.code == "chem",
                                                                  Stage.seq == 1))
    people = db_session.scalar(sa.text(
        f"SELECT count(*) FROM stage_entries WHERE stage_id = {prelim.id}"))
    assert people > 100
    organiser = signed_in("organiser")
    organiser.get(f"/admin/stages/{prelim.id}/signin-sheets")
    with counted(app) as statements:
        page = organiser.get(f"/admin/stages/{prelim.id}/signin-sheets").get_data(as_text=True)
    sheet = page.split('<section class="signin-sheet"')[1]
    assert sheet.count("<tr") == people + 1  # the header and one line per person
    assert len(statements) <= 8, statements
