"""The fuzz run's database: the demo with published results, a list and a re-check round made
once for the whole module in one outer transaction; each operation's test runs in a savepoint
of it that is rolled back afterwards, and the outer transaction is rolled back at the end, so
nothing the generated requests change reaches another test."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def fuzz_connection(app):
    from app.extensions import db

    with app.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()


@pytest.fixture(scope="module")
def fuzz_data(app, fuzz_connection):
    """The ids of what the module's requests act on, and a bearer token per role."""
    import sqlalchemy as sa

    from app.models import Component, Contestant, Entry, RecheckItem, Stage, Track, User
    from app.services import accounts, rechecks, results
    from tests.results_setup import recheck_and_publish
    from tests.whatif_setup import build_ladder

    with app.app_context(), _bound(app, fuzz_connection) as session:
        organiser = accounts.get_by_username("organiser")
        version = results.create_version(build_ladder().stage, actor=organiser)
        recheck_and_publish(version, organiser)
        listing = results.generate_list(version, actor=organiser)
        round_id = rechecks.rounds(version)[0].id
        tokens = {}
        for name in ("organiser", "contestant"):
            user = accounts.get_by_username(name)
            _token, tokens[name] = accounts.issue_token(user, "fuzz", actor=user)
        found = {
            "version_id": version.id, "list_id": listing.id, "round_id": round_id,
            "item_id": session.scalar(sa.select(RecheckItem.id).where(
                RecheckItem.round_id == round_id).order_by(RecheckItem.id)),
            "component_id": session.scalar(
                sa.select(Component.id).join(Stage).join(Track)
                .where(Track.code == "chem", Stage.seq == 1, Component.code == "theory")),
            "own_entry_id": session.scalar(
                sa.select(Entry.id).join(Contestant).join(User)
                .where(User.username == "contestant")),
        }
        session.commit()
    return found, tokens


class _bound:
    """db.session bound to the module's connection, each commit a savepoint inside it (as the
    suite's db_session fixture does for one test)."""

    def __init__(self, app, connection):
        self.app, self.connection = app, connection

    def __enter__(self):
        from flask_sqlalchemy.session import _app_ctx_id
        from sqlalchemy.orm import scoped_session, sessionmaker

        from app.extensions import db

        self.original = db.session
        db.session = scoped_session(
            sessionmaker(bind=self.connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id)
        return db.session

    def __exit__(self, *exc):
        from app.extensions import db

        db.session = self.original


@pytest.fixture
def fuzz_session(app, fuzz_connection, fuzz_data):
    """One operation's savepoint, rolled back after its test."""
    from app.extensions import limiter

    with app.app_context():
        limiter.reset()
    app.extensions["page_cache"].clear()  # generations go back with each rollback
    savepoint = fuzz_connection.begin_nested()
    try:
        with _bound(app, fuzz_connection):
            yield fuzz_data
    finally:
        if savepoint.is_active:
            savepoint.rollback()
