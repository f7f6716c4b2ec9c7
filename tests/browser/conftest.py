"""End-to-end fixtures: the real app under gunicorn on 127.0.0.1, and Debian's Chromium.

Outside CI a missing Chromium skips these tests with the reason shown; in CI it fails them.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import OUTPUT_DIR, ROOT, flask_cli, fresh_database_url

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _a_refusal_shown(message: str) -> bool:
    """Chromium logs each page answered 4xx; a form shown again after a refusal answers 422 or
    409 on purpose (app/transaction.py), and that is no error of the page."""
    prefix = "Failed to load resource: the server responded with a status of "
    return message.startswith((prefix + "422", prefix + "409"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_database(name: str, tmp: Path) -> str:
    """A new database (SQLite file or PostgreSQL schema) migrated, with the demo loaded."""
    url = fresh_database_url(name, tmp)
    flask_cli(url, "db", "upgrade")
    flask_cli(url, "demo", "load", "--configuration-only")
    return url


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory) -> str:
    """The live server's own database: migrated, with the demo loaded."""
    return demo_database("test_browser", tmp_path_factory.mktemp("live-db"))


@pytest.fixture(scope="session")
def live_app(live_database_url):
    """An app on the live server's database, for setting up what the pages need."""
    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": live_database_url, "SECRET_KEY": "x"})
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before the interpreter exits


@contextmanager
def serving(database_url: str, tmp: Path):
    """gunicorn with two workers serving ``database_url`` on a free port; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "browser-test-secret"}
    log = (tmp / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--control-socket", str(tmp / "gunicorn.ctl"), "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "gunicorn.log").read_text()) from None
            time.sleep(0.2)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, live_database_url):
    """gunicorn with two workers serving a fresh database with the demo loaded."""
    with serving(live_database_url, tmp_path_factory.mktemp("live")) as base:
        yield base


@pytest.fixture(scope="session")
def chromium():
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    viewport = getattr(request, "param", {"width": 1280, "height": 860})
    context = chromium.new_context(locale="zh-CN", viewport=viewport,
                                   has_touch=viewport["width"] < 1000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text)
            if m.type == "error" and not _a_refusal_shown(m.text) else None)
    page.on("response", lambda r: page.console_errors.append(f"{r.status} {r.url}")
            if r.status == 404 else None)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = OUTPUT_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
