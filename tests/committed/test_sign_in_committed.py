"""Sign-in limits and sessions as several gunicorn workers or machines see them: two app
instances (two workers, or two machines) on one database, every request committed. The
account's failures are counted in the database, so the limit holds whichever instance answers;
a session signed out on one instance is gone on the other."""
from __future__ import annotations

import pytest

from tests.conftest import Visitor, flask_cli, fresh_database_url


@pytest.fixture(scope="module")
def two_instances(tmp_path_factory):
    from app import create_app
    from app.extensions import db

    url = fresh_database_url("sign_in_committed", tmp_path_factory.mktemp("sign-in-db"))
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "demo", "load", "--configuration-only")
    config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "two-instances",
              "LOGIN_RATE_LIMIT": "3 per minute", "LOGIN_RATE_LIMIT_PER_ADDRESS": "100 per minute"}
    apps = (create_app(dict(config)), create_app(dict(config)))
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_the_account_limit_holds_across_two_instances_sharing_one_database(two_instances):
    first, second = (Visitor(app.test_client()) for app in two_instances)
    answers = [(first if n % 2 == 0 else second).post(
        "/login", {"username": "arbiter", "password": "bad-1"}).status_code for n in range(3)]
    assert answers == [401, 401, 401]
    for visitor in (first, second):
        response = visitor.post("/login", {"username": "arbiter", "password": "Arbiter2025"})
        assert response.status_code == 429
        assert "该账号登录失败次数过多，已锁定至" in response.get_data(as_text=True)


def test_a_session_signed_out_on_one_instance_is_refused_by_the_other(two_instances):
    first_app, second_app = two_instances
    browser = Visitor(first_app.test_client())
    browser.login("contact", "Contact2025")
    copy = Visitor(second_app.test_client())
    copy.client.set_cookie("session", browser.client.get_cookie("session").value)
    assert copy.get("/portal/").status_code == 200  # the other worker knows the session
    browser.logout()
    response = copy.get("/portal/")
    assert response.status_code == 302 and response.location.startswith("/login")
