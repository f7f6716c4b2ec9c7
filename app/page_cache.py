"""Publication day's page cache: the public notice, a contestant's portal page and a score
lookup's answer are rendered once and served again from each worker's memory until the data
they show changes.

How a cached page can never be stale, across any number of gunicorn workers:

- **One generation counter in the database** (``cache_generation``, one row). Any transaction
  that writes a table a page may show adds one to it, in the same transaction, just before it
  commits (``_bump_if_written``, on the engine's commit and savepoint-release events). So the new
  data and the new generation become visible together.
- **Every request reads the counter** (one primary-key SELECT) and looks its page up under that
  generation, with everything else the page depends on in the key: the view's own key (list id,
  entry id, the looked-up exam and ID numbers), the path, the language, and the signed-in
  account (id, role, name, enterprise). A page cached before a change is keyed on the older
  generation and is never looked up again once the change has committed.
- **Writes are noticed where SQLAlchemy executes them** (``_note_write``): every INSERT, UPDATE
  and DELETE built with SQLAlchemy (the ORM's flushes included), every DDL statement, and every
  textual statement that writes, on every table except those no cached page shows (accounts,
  whose part in a page is in its key, sessions, sign-in failures, the audit log, judges' marks
  and score sheets). Bulk loads that go straight
  to the driver (COPY) call ``written()`` themselves. A write in doubt counts as a write: the
  cost of a needless bump is one page rendered again.
- What the clock changes is not in the counter: a view names the moment its page stops being
  right (``valid_until``), e.g. when a track's registration window closes.

Never cached: anything but a 200, a page with flashed messages (they are shown once), a
request with a query string, and a page the view declines (``do_not_cache``, e.g. a lookup
that found nothing). The CSRF token that a page carries (the sign-out form, the lookup form)
is cut out of the stored copy and the requester's own token put back in each time.
``PAGE_CACHE_MB`` (per worker; 0 turns the cache off) bounds the memory; the least recently
used pages go first.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, make_response, request, session
from flask_login import current_user

from app.extensions import db
from app.models import CacheGeneration, utcnow

#: Tables whose writes change no cached page: written on every sign-in, every request of a
#: signed-in judge, or by the cache itself. Every other table counts. ``users`` is among them
#: because every sign-in writes it: what a cached page shows of the signed-in account (its
#: id, role, name, enterprise and language) is in the page's key instead, read from the
#: account loaded for the request, and no cached page shows another account.
UNSHOWN_TABLES = frozenset({
    "users", "user_sessions", "sign_in_failures", "audit_log", "marks", "score_sheets",
    "api_tokens", "cache_generation", "alembic_version",
})

_WRITTEN = "page_cache.written"  # key in the DBAPI connection's info: a write since the last bump
_READ_ONLY = ("SELECT", "SET", "SHOW", "PRAGMA", "BEGIN", "START", "COMMIT", "ROLLBACK",
              "SAVEPOINT", "RELEASE", "EXPLAIN", "VALUES", "LOCK")
_WRITTEN_TABLE = re.compile(
    r'\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(?:\s+TABLE)?)\s+'
    r'(?:ONLY\s+)?(?:"?\w+"?\.)?"?(\w+)', re.IGNORECASE)


def _text_writes(sql: str) -> bool:
    """Whether a textual statement may write a table a page shows (a statement in doubt does)."""
    head = sql.lstrip().upper()
    if head.startswith(_READ_ONLY):
        return False
    tables = _WRITTEN_TABLE.findall(sql)
    if tables:
        return any(t.lower() not in UNSHOWN_TABLES for t in tables)
    return not head.startswith("WITH")  # DDL, VACUUM...: in doubt; a WITH that writes nothing reads


def writes_shown_data(statement) -> bool:
    """Whether executing ``statement`` may change what a cached page shows."""
    if isinstance(statement, sa.sql.dml.UpdateBase):  # INSERT, UPDATE, DELETE (ORM flushes too)
        name = getattr(statement.table, "name", None)
        return name is None or name not in UNSHOWN_TABLES
    if isinstance(statement, sa.sql.elements.TextClause):
        return _text_writes(statement.text)
    if isinstance(statement, str):
        return _text_writes(statement)
    return isinstance(statement, sa.schema.ExecutableDDLElement)


def written(connection: sa.Connection) -> None:
    """Declare that this connection's transaction has written data a page shows, for writes that
    go straight to the driver (COPY, the driver's executemany)."""
    connection.info[_WRITTEN] = True


def _note_write(conn, clauseelement, _multiparams, _params, _options):
    if writes_shown_data(clauseelement):
        conn.info[_WRITTEN] = True


def _bump_if_written(conn, *_args) -> None:
    """Add one to the generation in the transaction about to commit (or the savepoint about to be
    released), if it wrote anything a page shows. Through the driver: SQLAlchemy's transaction is
    already committing. A database not yet migrated (no counter table) is left alone."""
    if not conn.info.pop(_WRITTEN, False):
        return
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            cursor.execute("SELECT to_regclass('cache_generation') IS NOT NULL")
        else:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                           "AND name = 'cache_generation'")
        if cursor.fetchone()[0]:
            cursor.execute("UPDATE cache_generation SET n = n + 1 WHERE id = 1")
    finally:
        cursor.close()


def _forget_writes(conn, *_args) -> None:
    conn.info.pop(_WRITTEN, None)


def install(app: Flask) -> None:
    """Watch the app's engine for writes; size the store from ``PAGE_CACHE_MB``."""
    with app.app_context():
        engine = db.engine
    if not sa.event.contains(engine, "before_execute", _note_write):
        sa.event.listen(engine, "before_execute", _note_write)
        sa.event.listen(engine, "commit", _bump_if_written)
        sa.event.listen(engine, "release_savepoint", _bump_if_written)
        sa.event.listen(engine, "rollback", _forget_writes)
    app.extensions["page_cache"] = _Store(int(float(app.config["PAGE_CACHE_MB"]) * 1024 * 1024))


def store() -> _Store:
    """This app's store of pages (one per app and worker process)."""
    return current_app.extensions["page_cache"]


def generation() -> int | None:
    """The published data's generation now (None: no counter row, nothing is cached). Read in
    the request's transaction, as plain SQL: every cached page's request runs it."""
    return db.session.connection().exec_driver_sql(_GENERATION).scalar()


_GENERATION = f"SELECT n FROM {CacheGeneration.__tablename__} WHERE id = 1"


# --- the store (one per worker process) ----------------------------------------------------------

@dataclass
class Page:
    body: bytes
    status: int
    headers: list[tuple[str, str]]
    csrf_slot: bool
    expires_at: datetime | None


class _Store:
    """Least recently used pages up to a number of bytes; safe for threaded workers."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._pages: OrderedDict[bytes, Page] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: bytes, page: Page) -> None:
        if len(page.body) > self.capacity // 8:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._pages[key] = page
            self._bytes += len(page.body)
            self._evict()

    def drop(self, key: bytes) -> None:
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._pages)

    def _evict(self) -> None:
        while self._pages and self._bytes > self.capacity:
            _key, page = self._pages.popitem(last=False)
            self._bytes -= len(page.body)


#: Stands for the requester's CSRF token in a stored page: random per process, so no page's own
#: text can contain it.
_CSRF_SLOT = f"csrf-slot-{secrets.token_hex(16)}".encode()


def valid_until(moment: datetime | None) -> None:
    """The page being rendered stops being right at ``moment`` (naive UTC) although no data
    changes, e.g. when a registration window closes: it is served from the cache until then."""
    if moment is not None:
        earlier = g.get("page_cache_until")
        g.page_cache_until = moment if earlier is None else min(earlier, moment)


def do_not_cache() -> None:
    """The page being rendered is for this request only (e.g. a lookup that found nothing)."""
    g.page_cache_skip = True


def _key(generation_now: int, view_key: tuple) -> bytes:
    from app import select_locale

    who = None
    if current_user.is_authenticated:
        who = (current_user.id, current_user.role.value, current_user.display_name,
               current_user.enterprise_id)
    parts = (generation_now, request.method, request.endpoint, request.full_path,
             select_locale(), who, view_key)
    return hashlib.blake2b(repr(parts).encode(), digest_size=20).digest()


def _csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def cached(view_key: tuple, render: Callable[[], object]) -> Response:
    """This request's page: from the cache when it holds the page under the current generation
    and key, else ``render()``'d (and kept when it may be). ``render`` does the view's whole
    work, its access checks included; the cache adds to the key whatever else the page
    depends on (see the module's docstring)."""
    pages = store()
    if not pages.capacity or session.get("_flashes") or request.query_string:
        # a query string is not part of these pages (only of their language link): rendered
        # afresh, so that made-up ones cannot crowd the real pages out of the cache
        return make_response(render())
    generation_now = generation()
    if generation_now is None:
        return make_response(render())
    key = _key(generation_now, view_key)
    page = pages.get(key)
    if page is not None:
        if page.expires_at is None or utcnow() < page.expires_at:
            return _response(page)
        pages.drop(key)
    g.pop("page_cache_until", None)
    g.pop("page_cache_skip", None)
    response = make_response(render())
    if (response.status_code == 200 and not response.is_streamed
            and not g.get("page_cache_skip") and not g.get("refused_status")):
        body = response.get_data()
        token = g.get(_csrf_field())
        slot = bool(token) and token.encode() in body
        if slot:
            body = body.replace(token.encode(), _CSRF_SLOT)
        headers = [(k, v) for k, v in response.headers.items()
                   if k.lower() not in ("set-cookie", "content-length")]
        pages.put(key, Page(body, response.status_code, headers, slot,
                            g.get("page_cache_until")))
    return response


def _response(page: Page) -> Response:
    body = page.body
    if page.csrf_slot:
        from flask_wtf.csrf import generate_csrf

        body = body.replace(_CSRF_SLOT, generate_csrf().encode())
    return Response(body, status=page.status, headers=page.headers)
