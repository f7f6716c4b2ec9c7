"""The application factory and its configuration."""
from pathlib import Path

from app import create_app


def test_factory_uses_sqlite_under_instance_when_nothing_is_configured(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///")
    assert Path(uri.removeprefix("sqlite:///")).parent == Path(app.instance_path)
    assert not app.testing


def test_factory_takes_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.example/contest")
    app = create_app({"TESTING": True, "LOGIN_RATE_LIMIT": "3 per hour"})
    assert app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example/contest"
    assert app.config["LOGIN_RATE_LIMIT"] == "3 per hour"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh"


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    from app.config import from_environment

    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    settings = from_environment(tmp_path)
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/1"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SECRET_KEY"] == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_secret_key_is_shared_by_every_process_through_the_instance_folder(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first, second = create_app(), create_app()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32


def test_changes_made_in_one_test_are_rolled_back_before_the_next(visitor, db_session):
    """The fixture's promise, checked: a request's commit stays inside the test transaction."""
    import sqlalchemy as sa

    from app.models import User

    visitor.login("organiser", "Organiser2025")
    visitor.get("/lang/en")  # commits the account's language choice
    assert db_session.scalar(sa.select(User.locale).where(User.username == "organiser")) == "en"


def test_previous_test_left_nothing_behind(db_session):
    import sqlalchemy as sa

    from app.models import User

    assert db_session.scalar(sa.select(User.locale).where(User.username == "organiser")) is None
