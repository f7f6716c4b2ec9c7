"""The publication-day page cache (app/page_cache.py) never serves a page older than the data it
shows: each change an organiser makes -- withdrawing a list, upholding an objection and its
replacement (递补), publishing a new version, keeping a list, finalising it -- reaches the public
notice, the contestant's page and the score lookup at the very next request, whichever worker
had cached them. Pages served from the cache are checked for what a person sees, and for the
one query they cost. SQLite, and PostgreSQL with TEST_DATABASE_URL."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import (
    AdvancementEntry,
    AdvancementList,
    Contestant,
    Entry,
    EntryStatus,
    Objection,
    Stage,
    StageStatus,
    Track,
    User,
    utcnow,
)
from tests.conftest import DEMO_PASSWORDS, Visitor
from tests.results_setup import (
    confirmed_post,
    correct_theory_to_88_24,
    make_top_scorer_98_24,
    pass_recheck,
    recheck_and_publish,
    score_preliminary,
)


@pytest.fixture
def corrected(app, db_session):
    """The chemical preliminary: version 1 published (the first contestant first with 98.24),
    its list on notice (the notice period over), then the first contestant's theory corrected
    to 92.24 in version 2, computed and re-checked, not yet published. Returns the ids."""
    from app.extensions import db
    from app.services import accounts, results

    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        stage_id, _people = score_preliminary(seed=5)
        stage = db.session.get(Stage, stage_id)
        place = make_top_scorer_98_24(stage)
        first = recheck_and_publish(results.create_version(stage, actor=organiser), organiser)
        listing = results.generate_list(first, actor=organiser)
        results.start_notice(listing, actor=organiser)
        listing.notice_starts_at -= timedelta(days=8)
        listing.notice_ends_at -= timedelta(days=8)
        correct_theory_to_88_24(place)
        second = results.create_version(stage, actor=organiser, reason="理论成绩更正")
        pass_recheck(second, organiser)
        db.session.commit()
        return {"stage": stage_id, "list": listing.id, "first": first.id, "second": second.id,
                "place": place.id}


@contextmanager
def counted(app):
    """The SELECTs the app runs inside the block (not the test's savepoints)."""
    from app.extensions import db

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def generation(app) -> int:
    from app import page_cache

    with app.app_context():
        return page_cache.generation()


def visitor(app, username: str | None = None) -> Visitor:
    """A browser of its own (its own cookies), signed in when a username is given."""
    person = Visitor(app.test_client())
    if username:
        person.login(username, DEMO_PASSWORDS[username])
    return person


def notice_page(person: Visitor, list_id: int) -> str:
    response = person.get(f"/notices/{list_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def listed(page: str) -> str:
    return page.split('id="notice-list"')[1].split("</table>")[0]


def cached_notice(app, person: Visitor, list_id: int) -> str:
    """The notice rendered once, then served from the cache: the second request's only query
    is the generation counter."""
    first = notice_page(person, list_id)
    with counted(app) as statements:
        again = notice_page(person, list_id)
    assert again == first
    assert len(statements) == 1 and "cache_generation" in statements[0], statements
    return first


def test_withdrawing_a_list_reaches_its_cached_public_notice_at_once(app, corrected):
    organiser, public = visitor(app, "organiser"), visitor(app)
    before = cached_notice(app, public, corrected["list"])
    assert 'id="withdrawn"' not in before and "公示" in before
    reason = "理论成绩更正，依第2版重新生成"
    confirmed_post(organiser, f"/admin/results/{corrected['second']}/publish")
    confirmed_post(organiser, f"/admin/lists/{corrected['list']}/withdraw", {"reason": reason})
    after = notice_page(public, corrected["list"])
    banner = after.split('id="withdrawn"')[1].split("</div>")[0]
    assert reason in banner and "新名单将另行公布" in banner
    assert f"名单撤回：{reason}" in after.split('id="amendments"')[1]


def test_an_upheld_objection_and_its_replacement_reach_the_cached_notice_at_once(
        app, corrected, db_session):
    organiser, public = visitor(app, "organiser"), visitor(app)
    before = cached_notice(app, public, corrected["list"])
    listing = db_session.get(AdvancementList, corrected["list"])
    target = next(e for e in listing.entries if e.status.value == "advancing")
    gone = target.stage_entry.entry.exam_number
    assert gone in listed(before) and 'id="amendments"' not in before
    organiser.post(f"/admin/lists/{listing.id}/objections", {
        "advancement_entry_id": str(target.id), "filed_by_name": "职工乙", "text": "年限不实"})
    objection_id = db_session.scalar(sa.select(sa.func.max(Objection.id)))
    confirmed_post(organiser, f"/admin/objections/{objection_id}/ruling",
                   {"decision": "upheld", "ruling": "经核实年限不足"})
    db_session.expire_all()
    successor = db_session.scalar(sa.select(AdvancementEntry).where(
        AdvancementEntry.replaces_id == target.id))
    after = notice_page(public, corrected["list"])
    assert gone not in listed(after)
    assert successor.stage_entry.entry.exam_number in listed(after)
    assert listed(after).count("<td>递补</td>") == 1
    amendments = after.split('id="amendments"')[1].split("</ol>")[0]
    assert gone in amendments and "经核实年限不足" in amendments and "名额递补给" in amendments


def test_a_newer_published_version_flags_the_cached_notice_at_once(app, corrected):
    organiser, public = visitor(app, "organiser"), visitor(app)
    assert 'id="superseded"' not in cached_notice(app, public, corrected["list"])
    confirmed_post(organiser, f"/admin/results/{corrected['second']}/publish")
    after = notice_page(public, corrected["list"])
    assert "其后已发布更正后的第2版" in after.split('id="superseded"')[1].split("</div>")[0]


def test_keeping_and_finalising_a_list_reach_the_cached_notice_at_once(app, corrected):
    organiser, public = visitor(app, "organiser"), visitor(app)
    confirmed_post(organiser, f"/admin/results/{corrected['second']}/publish")
    flagged = cached_notice(app, public, corrected["list"])
    assert 'id="superseded"' in flagged and "公示期已结束" not in flagged
    confirmed_post(organiser, f"/admin/lists/{corrected['list']}/keep",
                   {"reason": "复核后晋级人员不变"})
    kept = notice_page(public, corrected["list"])
    assert 'id="superseded"' not in kept
    assert "组委会决定维持本名单：复核后晋级人员不变" in kept.split('id="amendments"')[1]
    assert cached_notice(app, public, corrected["list"]) == kept
    confirmed_post(organiser, f"/admin/lists/{corrected['list']}/finalise")
    final = notice_page(public, corrected["list"])
    assert "公示期已结束，本名单为最终名单。" in final and "（公示）" not in final


def test_a_page_cached_by_one_worker_is_not_served_after_another_worker_commits_a_change(
        app, corrected):
    """Two apps on the same database stand for two gunicorn workers, each with its own pages
    in memory: what one commits, the other's next request shows."""
    from app import create_app

    other_worker = create_app({**{k: app.config[k] for k in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "RATELIMIT_STORAGE_URI")}})
    try:
        public = visitor(other_worker)
        first = notice_page(public, corrected["list"])
        assert notice_page(public, corrected["list"]) == first
        assert other_worker.extensions["page_cache"]._pages  # cached in that worker only
        assert not app.extensions["page_cache"]._pages
        organiser = visitor(app, "organiser")
        confirmed_post(organiser, f"/admin/results/{corrected['second']}/publish")
        confirmed_post(organiser, f"/admin/lists/{corrected['list']}/withdraw",
                       {"reason": "依第2版重新生成"})
        assert 'id="withdrawn"' in notice_page(public, corrected["list"])
    finally:
        from app.extensions import db

        with other_worker.app_context():
            db.engine.dispose()


def _person_of(db_session, place_id: int) -> tuple[str, str]:
    from app.models import StageEntry

    entry = db_session.get(StageEntry, place_id).entry
    return entry.exam_number, entry.contestant.id_number


def _lookup(person: Visitor, exam_number: str, id_number: str):
    form = person.get("/lookup").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    return person.client.post("/lookup", data={"csrf_token": token, "exam_number": exam_number,
                                               "id_number": id_number})


def _total(page: str) -> str:
    return re.search(r'class="lookup-total">([^<]+)<', page).group(1)


def test_a_cached_score_lookup_shows_the_corrected_version_at_once(app, corrected, db_session):
    exam_number, id_number = _person_of(db_session, corrected["place"])
    public = visitor(app)
    first = _lookup(public, exam_number, id_number).get_data(as_text=True)
    assert _total(first) == "98.24" and "第1版" in first
    with counted(app) as statements:
        again = _lookup(public, exam_number, id_number)
    assert _total(again.get_data(as_text=True)) == "98.24"
    assert [s for s in statements if "cache_generation" not in s] == [], statements
    confirmed_post(visitor(app, "organiser"), f"/admin/results/{corrected['second']}/publish")
    after = _lookup(public, exam_number, id_number).get_data(as_text=True)
    assert _total(after) == "92.24" and "第2版" in after


def test_a_cached_page_carries_the_requesters_own_csrf_token(app, corrected, db_session):
    """Two people look the same entry up: the second answer comes from the cache, with the
    second person's own token in its form, which their next lookup is accepted with."""
    exam_number, id_number = _person_of(db_session, corrected["place"])
    token = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    first, second = visitor(app), visitor(app)
    one = _lookup(first, exam_number, id_number).get_data(as_text=True)
    with counted(app) as statements:
        two = _lookup(second, exam_number, id_number).get_data(as_text=True)
    assert [s for s in statements if "cache_generation" not in s] == [], statements
    assert _total(one) == _total(two) == "98.24"
    assert token.search(one).group(1) != token.search(two).group(1)
    again = second.client.post("/lookup", data={
        "csrf_token": token.search(two).group(1), "exam_number": exam_number,
        "id_number": id_number})
    assert again.status_code == 200 and _total(again.get_data(as_text=True)) == "98.24"


def test_a_failed_lookup_is_never_served_from_the_cache_and_counts_against_the_limit(
        app, corrected, db_session):
    exam_number, _id_number = _person_of(db_session, corrected["place"])
    public = visitor(app)
    for _ in range(2):
        with counted(app) as statements:
            page = _lookup(public, exam_number, "110101199001011234").get_data(as_text=True)
        assert "准考证号与身份证号不匹配，未查到报名" in page
        assert 'id="lookup-results"' not in page
        assert any("entries" in s for s in statements)  # looked up each time
    assert not app.extensions["page_cache"]._pages


def test_a_contestants_cached_entry_page_shows_a_new_version_at_once(app, corrected,
                                                                     db_session):
    entry_id = db_session.scalar(sa.select(Entry.id).join(Contestant).join(
        User, User.id == Contestant.user_id).where(User.username == "contestant"))
    contestant = visitor(app, "contestant")
    first = contestant.get(f"/portal/entries/{entry_id}").get_data(as_text=True)
    assert "第1版" in first.split('id="my-results"')[1]
    with counted(app) as statements:
        again = contestant.get(f"/portal/entries/{entry_id}").get_data(as_text=True)
    # the signed-in session's account and the generation: nothing else
    assert len(statements) == 2, statements
    assert again.split('id="my-results"')[1] == first.split('id="my-results"')[1]
    confirmed_post(visitor(app, "organiser"), f"/admin/results/{corrected['second']}/publish")
    after = contestant.get(f"/portal/entries/{entry_id}").get_data(as_text=True)
    assert "第2版" in after.split('id="my-results"')[1]


def test_a_cached_entry_page_is_the_owners_only(app, corrected, db_session):
    """Another contestant asking for the cached page of someone else's entry is refused."""
    entry_id = db_session.scalar(sa.select(Entry.id).join(Contestant).join(
        User, User.id == Contestant.user_id).where(User.username == "contestant"))
    owner = visitor(app, "contestant")
    assert owner.get(f"/portal/entries/{entry_id}").status_code == 200
    contact = visitor(app, "contact")  # sees its own enterprise's people only
    own_enterprise = db_session.scalar(sa.select(User.enterprise_id).where(
        User.username == "contact"))
    entry_enterprise = db_session.get(Entry, entry_id).enterprise_id
    answer = contact.get(f"/portal/entries/{entry_id}")
    assert answer.status_code == (200 if own_enterprise == entry_enterprise else 404)
    stranger = db_session.scalar(sa.select(Entry.id).where(Entry.id != entry_id)
                                 .order_by(Entry.id))
    assert owner.get(f"/portal/entries/{stranger}").status_code == 404


def test_the_correct_button_goes_when_the_registration_window_closes_with_nothing_written(
        app, db_session, monkeypatch):
    """A submitted entry may be corrected while its track takes registrations; the window's
    closing writes nothing, and the cached page still loses its 修改 button then."""
    entry = db_session.scalar(sa.select(Entry).join(Contestant).join(
        User, User.id == Contestant.user_id).where(User.username == "contestant"))
    stage = db_session.scalar(sa.select(Stage).where(Stage.track_id == entry.track_id,
                                                     Stage.seq == 1))
    closes = utcnow() + timedelta(days=1)
    entry.status = EntryStatus.SUBMITTED
    stage.status, stage.registration_opens_at = StageStatus.REGISTRATION, None
    stage.registration_closes_at = closes
    db_session.commit()
    contestant = visitor(app, "contestant")
    edit = f"/portal/entries/{entry.id}/edit"
    assert edit in contestant.get(f"/portal/entries/{entry.id}").get_data(as_text=True)
    assert edit in contestant.get(f"/portal/entries/{entry.id}").get_data(as_text=True)
    later = closes + timedelta(minutes=1)
    monkeypatch.setattr("app.page_cache.utcnow", lambda: later)
    monkeypatch.setattr("app.services.entries.utcnow", lambda: later)
    assert edit not in contestant.get(f"/portal/entries/{entry.id}").get_data(as_text=True)


def test_only_writes_of_what_pages_show_move_the_generation(app, db_session):
    from app.extensions import db
    from app.services import imports

    start = generation(app)
    visitor(app, "contestant")  # a sign-in writes the account and its session only
    assert generation(app) == start
    contestant = db_session.scalar(sa.select(Contestant).join(
        User, User.id == Contestant.user_id).where(User.username == "contestant"))
    contestant.name = contestant.name + "（更正）"
    db_session.commit()
    assert generation(app) == start + 1
    with app.app_context():  # a bulk load straight to the driver (COPY on PostgreSQL)
        from app.models import Enterprise

        imports.insert_rows(Enterprise.__table__, ["name", "match_key"],
                            [["新单位甲", "新单位甲"]], constants={"created_at": utcnow()})
        db.session.commit()
    assert generation(app) == start + 2
    with app.app_context():  # a refused request's writes are undone, and so is nothing bumped
        track = db.session.scalar(sa.select(Track).limit(1))
        track.name = "改名"
        db.session.flush()
        db.session.rollback()
    assert generation(app) == start + 2


@pytest.mark.parametrize(("statement", "shows"), [
    ("UPDATE entries SET status = 'approved' WHERE id = 1", True),
    ("INSERT INTO advancement_entries (list_id) VALUES (1)", True),
    ('DELETE FROM "contestants" WHERE id = 2', True),
    ("SELECT * FROM entries FOR UPDATE", False),
    ("INSERT INTO audit_log (action) VALUES ('x')", False),
    ("WITH saved AS (UPDATE score_sheets SET version = 2 RETURNING id), changed AS (UPDATE "
     "marks SET value = 1) INSERT INTO audit_log (at) SELECT 1 FROM saved", False),
    ("WITH saved AS (UPDATE score_sheets SET version = 2 RETURNING id) UPDATE entries SET "
     "status = 'approved'", True),
    ("CREATE INDEX ix_something ON entries (city)", True),
    ("SET LOCAL statement_timeout = 1000", False),
])
def test_a_textual_statement_counts_as_a_write_when_it_may_change_a_page(statement, shows):
    from app.page_cache import writes_shown_data

    assert writes_shown_data(sa.text(statement)) is shows


def test_statements_built_with_sqlalchemy_count_by_their_table():
    from app.models import AuditLog, UserSession
    from app.page_cache import writes_shown_data

    assert writes_shown_data(sa.update(Entry).values(city="南京"))
    assert writes_shown_data(sa.insert(AdvancementEntry))
    assert writes_shown_data(sa.delete(Objection))
    assert not writes_shown_data(sa.insert(AuditLog))
    assert not writes_shown_data(sa.update(UserSession).values(ip="x"))
    assert not writes_shown_data(sa.select(Entry))


def test_made_up_query_strings_are_rendered_afresh_and_never_fill_the_cache(app, corrected):
    public = visitor(app)
    for n in range(3):
        page = public.get(f"/notices/{corrected['list']}?n={n}").get_data(as_text=True)
        assert 'id="notice-list"' in page and f"n%3D{n}" in page  # the language link keeps it
    assert not app.extensions["page_cache"]._pages
