"""Settings read from the environment; SQLite under instance/ when nothing is set."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/.

    Every gunicorn worker must sign sessions with the same key, so a random key per process
    would log users out at random; the file is shared by all workers on one machine.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: Path) -> dict:
    """The application's configuration, each key overridable by an environment variable."""
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'contest.db'}"
    # Heroku-style URLs name the old driver; psycopg 3 is the one we ship.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # The sign-up limit's counters (Flask-Limiter): memory:// is per process; give several
        # workers one store, e.g. redis://127.0.0.1:6379/0. Sign-in failures are counted in the
        # database instead (app/services/sign_in.py), shared by every worker and machine.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Failed sign-ins per account name (then it is locked), and per address (past it, each
        # failure locks the account it named; a right password of an unlocked account always
        # passes, since a venue's judges may share one NAT address). The second caps sign-ups.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "LOGIN_RATE_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_RATE_LIMIT_PER_ADDRESS",
                                                       "100 per minute"),
        # A contestant's claims on an entry, per account; the public score lookup's failed
        # attempts per exam number and per address (successful lookups are not counted).
        "CLAIM_RATE_LIMIT": os.environ.get("CLAIM_RATE_LIMIT", "5 per minute"),
        "LOOKUP_RATE_LIMIT": os.environ.get("LOOKUP_RATE_LIMIT", "5 per minute"),
        "LOOKUP_RATE_LIMIT_PER_ADDRESS": os.environ.get("LOOKUP_RATE_LIMIT_PER_ADDRESS",
                                                        "30 per minute"),
        # If the shared store (Redis) is down, count in memory rather than refuse sign-ins.
        # Publication day's page cache (app/page_cache.py): memory per worker process for the
        # public notice, contestants' portal pages and score lookups; 0 turns it off.
        "PAGE_CACHE_MB": float(os.environ.get("PAGE_CACHE_MB", 32)),
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", False),
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
        "WTF_CSRF_TIME_LIMIT": int(os.environ.get("CSRF_TIME_LIMIT_SECONDS", 8 * 3600)),
        "BABEL_DEFAULT_LOCALE": os.environ.get("DEFAULT_LOCALE", "zh"),
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("DISPLAY_TIMEZONE", "Asia/Shanghai"),
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        "LANGUAGES": {"zh": "中文", "en": "English"},
        "BOOTSTRAP_SERVE_LOCAL": True,
        "BOOTSTRAP_BTN_STYLE": "primary",
        "PREFERRED_URL_SCHEME": os.environ.get("PREFERRED_URL_SCHEME", "http"),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", 0)),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", 50)) * 1024 * 1024,
        # A console upload larger than this is checked in a background thread (progress bar).
        "IMPORT_BACKGROUND_BYTES": int(os.environ.get("IMPORT_BACKGROUND_KB", 1024)) * 1024,
    }
