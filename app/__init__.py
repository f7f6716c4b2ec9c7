"""The contest system's application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import from_environment
from app.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    """The language chosen in this session, else the account's, else Chinese."""
    from flask import current_app
    from flask_login import current_user

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    db.init_app(app)
    _tune_sqlite(app)
    from app import page_cache

    page_cache.install(app)  # the generation counter bumped with every write a page shows
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    bootstrap.init_app(app)
    limiter.init_app(app)

    from app import models  # noqa: F401  (register the mappers)
    from app.security import init_security

    init_security(app)

    from app.inputs import init_inputs

    init_inputs(app)  # before the blueprints: their routes take its converters

    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.judge import bp as judge_bp
    from app.portal import bp as portal_bp
    from app.public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(judge_bp, url_prefix="/judge")
    app.register_blueprint(portal_bp, url_prefix="/portal")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, never with cookies

    from app.errors import init_errors
    from app.transaction import init_request_transaction

    init_errors(app)
    # After init_security: its after_request hook (the security headers) then runs after the
    # commit, so an answer the commit replaces gets them too.
    init_request_transaction(app)
    _init_templates(app)

    from app.cli import register_cli

    register_cli(app)
    return app


def _tune_sqlite(app: Flask) -> None:
    """SQLite for several gunicorn workers: write-ahead logging lets readers work while one
    writer commits, and NORMAL sync is safe with WAL (a power cut may lose the last commit,
    never corrupt the file). A writer waits for the lock instead of failing at once."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    import sqlalchemy as sa

    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()


def _audit_changes(row) -> list[str]:
    from app.services.audit import readable_changes

    return readable_changes(row.before, row.after)


def _init_templates(app: Flask) -> None:
    from flask_babel import get_locale

    from app import labels
    from app.display import display_datetime, fixed_decimals, mark_text, track_label
    from app.models import mask_id_number
    from app.security import nav_for

    app.jinja_env.filters["masked_id"] = mask_id_number
    app.jinja_env.filters["fixed"] = fixed_decimals
    app.jinja_env.filters["mark"] = mark_text
    app.jinja_env.filters["datetime"] = display_datetime
    app.jinja_env.filters["track_label"] = lambda track: track_label(
        track.contest.name, track.contest.year, track.name)
    # an audit row's before/after as 字段：旧值 → 新值 lines (app.services.audit)
    app.jinja_env.globals["audit_changes"] = _audit_changes

    @app.context_processor
    def layout_globals():
        locale = str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])
        return {
            "html_lang": "zh-CN" if locale.startswith("zh") else locale,
            "current_locale": locale,
            "languages": app.config["LANGUAGES"],
            "nav_items": nav_for(),
            "request_path": request.full_path if request else "/",
            "status_labels": labels.ENTRY_STATUS,
            "entry_status_labels": labels.ENTRY_STATUS,
            "stage_status_labels": labels.STAGE_STATUS,
            "version_status_labels": labels.VERSION_STATUS,
            "list_status_labels": labels.LIST_STATUS,
            "advancement_labels": labels.ADVANCEMENT_STATUS,
            "standing_labels": labels.ADVANCEMENT_STANDING,
            "pool_labels": labels.POOL_STATE,
            "result_status_labels": labels.RESULT_STATUS,
        }
