"""Plain Chinese everywhere (issue 12, part 4): every page and export the living demo reaches, as
every demo role, in Chinese, shows no internal id, code, English key, JSON, E notation or number
with more decimals than the stage publishes. Each leak is reported with its URL and a snippet."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORDS, Visitor
from tests.living.walk import known_urls, walk

# Each role: where its menu starts, and the parts of the application its routes are tried in.
ROLES = {
    "organiser": (["/admin/", "/"], ("admin.", "public.", "auth.")),
    "judge1": (["/judge/", "/"], ("judge.", "auth.")),
    "chief": (["/judge/", "/"], ("judge.", "auth.")),
    "arbiter": (["/judge/", "/judge/appeals", "/"], ("judge.", "auth.")),
    "contact": (["/portal/", "/"], ("portal.", "auth.")),
    "contestant": (["/portal/", "/"], ("portal.", "auth.")),
    None: (["/", "/notices", "/lookup", "/login", "/register"], ("public.",)),
}


@pytest.fixture(scope="module")
def demo_facts(living_app):
    """The published decimals and the entries worth opening: the demo contestant's, the
    contact's enterprise's first, and the first two of the track."""
    from app.extensions import db
    from app.models import AuditLog, Contest, Contestant, Draw, Entry, Stage, Track, User

    with living_app.app_context():
        decimals = db.session.scalar(sa.select(sa.func.max(Stage.decimals)))
        contact = db.session.scalar(sa.select(User).where(User.username == "contact"))
        entry_ids = list(db.session.scalars(sa.select(Entry.id).order_by(Entry.id).limit(2)))
        entry_ids += list(db.session.scalars(
            sa.select(Entry.id).join(Contestant).join(User, User.id == Contestant.user_id)
            .where(User.username == "contestant")))
        if contact.enterprise_id:
            entry_ids += list(db.session.scalars(
                sa.select(Entry.id).where(Entry.enterprise_id == contact.enterprise_id)
                .order_by(Entry.id).limit(1)))
        # What organisers typed as codes and read back on their own configuration pages and in
        # the API's URLs: contest and track codes, the draw's published seed. Nobody else's.
        typed = [*db.session.scalars(sa.select(Contest.code)),
                 *db.session.scalars(sa.select(Track.code)),
                 *db.session.scalars(sa.select(Draw.seed))]
        actions = list(db.session.scalars(sa.select(AuditLog.action).distinct()))
    organiser_words = frozenset(w for code in typed for w in re.findall(r"[A-Za-z0-9]+", code))
    return decimals, sorted(set(entry_ids)), organiser_words, actions


@pytest.fixture(scope="module")
def lookup(living_app) -> tuple[str, str]:
    """The demo contestant's published preliminary entry: exam number and ID number."""
    from app.extensions import db
    from app.models import Contestant, Entry, Stage, StageEntry, Track, User

    with living_app.app_context():
        return db.session.execute(
            sa.select(Entry.exam_number, Contestant.id_number).join(Contestant)
            .join(User, User.id == Contestant.user_id)
            .join(StageEntry, StageEntry.entry_id == Entry.id)
            .join(Stage, Stage.id == StageEntry.stage_id).join(Track, Track.id == Stage.track_id)
            .where(User.username == "contestant", Track.code == "chem", Stage.seq == 1)).one()


@pytest.mark.parametrize("role", list(ROLES), ids=lambda r: r or "public")
def test_no_page_or_export_shows_a_code_an_id_json_or_unpublished_decimals(
        living_app, demo_facts, lookup, role):
    from tests.living.walk import _ids

    decimals, entry_ids, organiser_words, actions = demo_facts
    from app.labels import AUDIT_CATEGORIES as categories
    start, blueprints = ROLES[role]
    visitor = Visitor(living_app.test_client())
    if role is not None:
        visitor.login(role, DEMO_PASSWORDS[role])
    extra = known_urls(living_app, _ids(living_app, entry_ids), blueprints)
    if role == "organiser":  # the audit log's filters are a form, not links: each category, and
        extra += [f"/admin/audit?category={key}" for key in categories]  # each action recorded
        extra += [f"/admin/audit?action={code}" for code in actions]
        # the what-if preview (a form too): the preliminary with a smaller quota and cap
        extra += ["/admin/stages/1/what-if?preview=1&weights.learning=40&weights.theory=60"
                  "&quota=50&per_enterprise_cap=4&cutoff_tie_policy=break"]
    report = walk(living_app, visitor, role or "public", start=start, extra=extra,
                  decimals=decimals,
                  also=organiser_words if role == "organiser" else frozenset())
    if role is None:  # the score lookup's answer (a form, not a link): the demo contestant's
        from tests.plain_text import leaks, visible_text

        exam_number, id_number = lookup
        found = visitor.post("/lookup", {"exam_number": exam_number, "id_number": id_number})
        text = visible_text(found.get_data(as_text=True))
        assert found.status_code == 200 and exam_number in text
        report.add("/lookup (POST)", leaks(text, decimals=decimals))
    assert report.pages > 3
    assert not report.leaks, f"{len(report.leaks)} leaks:\n" + "\n".join(report.leaks[:200])
