"""The living demo (``flask demo load`` without --configuration-only) in a database of its own,
loaded once per run and only read by these tests."""
from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORDS, Visitor, flask_cli, fresh_database_url


@pytest.fixture(scope="session")
def living_url(tmp_path_factory) -> str:
    url = fresh_database_url("test_living", tmp_path_factory.mktemp("living"))
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "demo", "load")
    return url


@pytest.fixture(scope="session")
def living_app(living_url):
    from app import create_app
    from app.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": living_url,
                      "SECRET_KEY": "test-secret", "RATELIMIT_STORAGE_URI": "memory://"})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def as_user(living_app):
    """as_user("judge1") → a Visitor signed in to the living demo as that account."""

    def sign_in(username: str) -> Visitor:
        visitor = Visitor(living_app.test_client())
        visitor.login(username, DEMO_PASSWORDS[username])
        return visitor

    return sign_in


@pytest.fixture
def public(living_app) -> Visitor:
    return Visitor(living_app.test_client())


@pytest.fixture
def read(living_app):
    """read(statement) → all rows of a query on the living demo's database."""
    from app.extensions import db

    def run(statement):
        with living_app.app_context():
            return db.session.execute(statement).all()

    return run
