"""Fixtures: a database built by the real migrations, the demo loaded once, every test in a
transaction that is rolled back, and helpers to sign in and post forms with their CSRF token.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set. On PostgreSQL each database a test
run needs is a schema of its own in that database, so the test role needs no CREATEDB right.
With TEST_DATABASE_OWNER_URL too (as CI runs), the two roles of a deployment (docs/deploy.md):
the owner creates each schema and runs the migrations, the app connects as the role of
TEST_DATABASE_URL, which owns nothing and may only read and write rows.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_DATABASE_OWNER_URL = os.environ.get("TEST_DATABASE_OWNER_URL")
OUTPUT_DIR = Path(os.environ.get("TEST_OUTPUT_DIR", ROOT / "test-output"))


def _normalise(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def fresh_database_url(name: str, tmp_dir: Path) -> str:
    """An empty database for this run: a new SQLite file, or a new PostgreSQL schema."""
    if not TEST_DATABASE_URL:
        path = tmp_dir / f"{name}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    base = _normalise(TEST_DATABASE_URL)
    engine = sa.create_engine(_normalise(TEST_DATABASE_OWNER_URL or base))
    app_role = sa.engine.make_url(base).username
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        if TEST_DATABASE_OWNER_URL:  # the grants docs/deploy.md gives the app's role
            conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{name}" TO "{app_role}"'))
            conn.execute(sa.text(
                f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{name}" '
                f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app_role}"'))
            conn.execute(sa.text(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{name}" '
                                 f'GRANT USAGE, SELECT ON SEQUENCES TO "{app_role}"'))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={name}')}"


def owner_url(database_url: str) -> str:
    """The same database as the owner role sees it: migrations run as the owner."""
    if not TEST_DATABASE_OWNER_URL or not database_url.startswith("postgresql"):
        return database_url
    owner = sa.engine.make_url(_normalise(TEST_DATABASE_OWNER_URL))
    return sa.engine.make_url(database_url).set(
        username=owner.username, password=owner.password).render_as_string(hide_password=False)


def flask_cli(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `flask ARGS` in a child process against ``database_url``, as an operator would:
    `flask db …` (migrations) as the owner role, everything else as the app's role."""
    if args and args[0] == "db":
        database_url = owner_url(database_url)
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "wsgi.py",
           "SECRET_KEY": "test-secret"}
    result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The session's database, upgraded by Alembic (not create_all) and with the demo loaded."""
    url = fresh_database_url("test_main", tmp_path_factory.mktemp("db"))
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "demo", "load", "--configuration-only")
    return url


def _sqlite_savepoints(engine: sa.Engine) -> None:
    """pysqlite begins transactions lazily and breaks SAVEPOINT; let SQLAlchemy drive them."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def app(database_url):
    from app import create_app
    from app.extensions import db

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "5 per minute",
        "LOGIN_RATE_LIMIT_PER_ADDRESS": "8 per minute",
    })
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_savepoints(db.engine)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    """Every test runs inside one outer transaction that is rolled back afterwards; the app's
    own commits become savepoints inside it.

    No application context stays pushed during the test: each request gets its own, as in
    production (a shared one would carry ``g``, and the signed-in user, from request to request).
    The yielded session is the test's own view of the same transaction.
    """
    from flask_sqlalchemy.session import _app_ctx_id
    from sqlalchemy.orm import Session, scoped_session, sessionmaker

    from app.extensions import db, limiter

    with app.app_context():
        connection = db.engine.connect()
        limiter.reset()
    # The rollback below takes the generation counter back too: pages cached by an earlier
    # test would be keyed on generations this test reaches again (app/page_cache.py).
    app.extensions["page_cache"].clear()
    transaction = connection.begin()
    original = db.session
    # A plain SQLAlchemy session: Flask-SQLAlchemy's own routes queries to the engine and
    # would ignore the bound connection, escaping the rollback.
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
        scopefunc=_app_ctx_id)
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        db.session = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def app_ctx(app, db_session):
    """An application context for calling services directly (no requests in the same test)."""
    with app.app_context():
        yield


@pytest.fixture
def client(app, db_session):
    return app.test_client()


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Visitor:
    """A browser-like test client: keeps cookies, reads the CSRF token from a page like a
    browser's form would, and signs in through the real sign-in form."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self) -> str:
        for page in ("/login", "/account/password"):
            response = self.client.get(page)
            match = _CSRF.search(response.get_data(as_text=True))
            if match:
                return match.group(1)
        raise AssertionError("no page with a CSRF token")

    def post(self, url: str, data: dict | None = None, **kwargs):
        return self.client.post(url, data={"csrf_token": self.csrf_token(), **(data or {})},
                                **kwargs)

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def login(self, username: str, password: str):
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    def logout(self):
        return self.post("/logout")


DEMO_PASSWORDS = {
    "organiser": "Organiser2025", "chief": "Chief2025", "arbiter": "Arbiter2025",
    "contact": "Contact2025", "contestant": "Contestant2025",
    **{f"judge{n}": "Judge2025" for n in range(1, 6)},
}


@pytest.fixture
def visitor(client) -> Visitor:
    return Visitor(client)


@pytest.fixture
def signed_in(client):
    """signed_in("organiser") → a Visitor signed in as that demo account."""

    def sign_in(username: str) -> Visitor:
        visitor = Visitor(client)
        visitor.login(username, DEMO_PASSWORDS[username])
        return visitor

    return sign_in


@pytest.fixture
def api_token(app, db_session):
    """api_token("organiser") → a bearer secret for that account."""
    from app.extensions import db
    from app.services import accounts

    def make(username: str, scope: str | None = None) -> str:
        with app.app_context():
            user = accounts.get_by_username(username)
            _token, secret = accounts.issue_token(user, "test", scope=scope, actor=user)
            db.session.commit()
        return secret

    return make


def valid_id_number(born, *, male: bool = True, seq: int = 1, prefecture: str = "3201") -> str:
    """A valid resident ID number (GB 11643) born on ``born``, from a county of ``prefecture``
    that existed in that year (stdnum checks the region against its history)."""
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    digit = (seq * 2 + (1 if male else 0)) % 10
    for county in range(1, 100):
        body = f"{prefecture}{county:02d}{born:%Y%m%d}{seq % 100:02d}{digit}"
        number = body + ric.calc_check_digit(body + "0")
        try:
            ric.validate(number)
        except (ValidationError, KeyError):
            continue
        return number
    raise ValueError(f"no county of {prefecture} existed in {born.year}")
