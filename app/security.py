"""Who may do what: sign-in wiring, the one role decorator, navigation per role, headers."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, g, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import login_manager
from app.models import Role, User

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


#: The session cookie's key for the secret of the server-side session (accounts.start_session).
SESSION_KEY = "sid"


def is_api_request() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def acting_user() -> User | None:
    """The user behind this request: the bearer token's on the API, the session's elsewhere."""
    if is_api_request():
        return g.get("api_user")
    return current_user if current_user.is_authenticated else None


def roles_required(*roles: Role) -> Callable:
    """The one access check. No user: browsers go to sign-in, API calls get 401 JSON.
    Wrong role: 403 (page or JSON). With no roles given, any signed-in user passes."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            from flask_babel import gettext as _

            from app.errors import abort_with, api_error

            user = acting_user()
            if user is None:
                if is_api_request():
                    return api_error(401, "unauthorized", _("A valid bearer token is required."))
                return login_manager.unauthorized()
            if roles and user.role not in roles:
                if is_api_request():
                    return api_error(403, "forbidden",
                                     _("Your role may not use this endpoint."))
                abort_with(403, _("You do not have permission to view this page."))
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles)  # type: ignore[attr-defined]  (read by the route table test)
        return wrapped

    return decorator


def home_for(user: User) -> str:
    """Where a user lands after signing in."""
    if user.role == Role.ORGANISER:
        return url_for("admin.dashboard")
    if user.role in (Role.JUDGE, Role.CHIEF_JUDGE, Role.ARBITRATOR):
        return url_for("judge.workspace")
    return url_for("portal.home")


# (endpoint, label, roles) — navigation shows only what the role may open.
NAVIGATION: list[tuple[str, object, tuple[Role, ...]]] = [
    ("admin.dashboard", _l("Dashboard"), (Role.ORGANISER,)),
    ("admin.contests", _l("Contests"), (Role.ORGANISER,)),
    ("admin.entries", _l("Registrations"), (Role.ORGANISER,)),
    ("admin.imports", _l("Imports"), (Role.ORGANISER,)),
    ("admin.judging_overview", _l("Judging"), (Role.ORGANISER,)),
    ("admin.results_overview", _l("Results"), (Role.ORGANISER,)),
    ("admin.users", _l("Accounts"), (Role.ORGANISER,)),
    ("admin.audit_log", _l("Audit log"), (Role.ORGANISER,)),
    ("judge.workspace", _l("Judging workspace"), (Role.JUDGE, Role.CHIEF_JUDGE, Role.ARBITRATOR)),
    ("judge.appeals_overview", _l("Appeals"), (Role.ARBITRATOR, Role.ORGANISER)),
    ("portal.home", _l("My entries"), (Role.CONTESTANT, Role.ENTERPRISE_CONTACT)),
    # The page stays open to every signed-in account (the API serves every role), but only the
    # organisers, who connect exam systems and simulators, see it in the menu.
    ("auth.tokens", _l("API tokens"), (Role.ORGANISER,)),
]

#: Session key set at a sign-in with an initial password: until it is changed, every page but
#: these sends the person to the password page.
PASSWORD_CHANGE_FIRST = "password_change_first"
_OPEN_BEFORE_PASSWORD_CHANGE = {"auth.change_password", "auth.logout", "public.set_language",
                                "public.health", "static", "bootstrap.static"}


# What anyone may open, shown to visitors who are not signed in.
PUBLIC_NAVIGATION: list[tuple[str, object]] = [
    ("public.notices", _l("Public notices")),
    ("public.score_lookup", _l("Score lookup")),
]


def nav_for() -> list[dict]:
    if not current_user.is_authenticated:
        return [{"endpoint": endpoint, "label": label, "url": url_for(endpoint)}
                for endpoint, label in PUBLIC_NAVIGATION]
    return [{"endpoint": endpoint, "label": label, "url": url_for(endpoint)}
            for endpoint, label, roles in NAVIGATION if current_user.role in roles]


class SlidingSessionInterface(SecureCookieSessionInterface):
    """The signed-in session lasts PERMANENT_SESSION_LIFETIME after the last request, as with
    Flask's own refresh on every request, but its cookie is re-signed and sent again at most
    once every RENEW_SECONDS: a judge's sheet autosaving every few seconds does not rewrite the
    cookie each time. The session's own changes are always sent at once."""

    RENEW_SECONDS = 60

    def should_set_cookie(self, app: Flask, session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        import time

        now = int(time.time())
        renewed = session.get("_renewed")
        if isinstance(renewed, int) and 0 <= now - renewed < self.RENEW_SECONDS:
            return False
        session["_renewed"] = now  # saved with the cookie this answer sends
        return True


def init_security(app: Flask) -> None:
    app.session_interface = SlidingSessionInterface()
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open that page.")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        """The session's user if the server still holds the session (not signed out, not
        ended by a password change or an organiser) and the account is active."""
        from app.services import accounts

        secret = session.get(SESSION_KEY)
        try:
            user_id_number = int(user_id)
        except (TypeError, ValueError):
            return None
        if not isinstance(secret, str) or not -2**31 <= user_id_number < 2**31:
            return None
        return accounts.user_for_session(user_id_number, secret,
                                         lifetime=app.permanent_session_lifetime)

    @app.before_request
    def password_change_first():
        from flask import flash, redirect, session
        from flask_babel import gettext as _

        if (session.get(PASSWORD_CHANGE_FIRST) and "_user_id" in session and not is_api_request()
                and request.endpoint not in _OPEN_BEFORE_PASSWORD_CHANGE):
            flash(_("Choose your own password before anything else."), "warning")
            return redirect(url_for("auth.change_password"))
        return None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # is_anonymous reads no column, so the user committed (expired) with the request's
        # transaction is not loaded again just for this header.
        if not getattr(current_user, "is_anonymous", True):
            headers.setdefault("Cache-Control", "no-store")  # pages with personal data
        return response

