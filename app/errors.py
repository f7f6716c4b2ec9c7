"""Error answers: JSON for the API, Chinese (or the chosen language) HTML pages for browsers."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def api_error(status: int, code: str, message: str, **extra):
    """The API's one error shape: {"error": {"code": ..., "message": ...}}."""
    body = {"error": {"code": code, "message": message, **extra}}
    return jsonify(body), status


def abort_with(status: int, message: str):
    """Stop the request with ``status`` and a message written for the user."""
    from werkzeug.exceptions import default_exceptions

    error = default_exceptions[status]()
    error.user_message = message  # type: ignore[attr-defined]
    raise error


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: ("bad_request", _("The request could not be understood.")),
        401: ("unauthorized", _("Please sign in first.")),
        403: ("forbidden", _("You do not have permission to view this page.")),
        404: ("not_found", _("The page you asked for does not exist.")),
        405: ("method_not_allowed", _("This action is not allowed here.")),
        413: ("too_large", _("The uploaded file is too large.")),
        422: ("unprocessable", _("The submitted data is not valid.")),
        429: ("too_many_requests", _("Too many attempts. Please wait a minute and try again.")),
        500: ("server_error", _("Something went wrong on our side. The change was not saved.")),
    }


def _answer(status: int, message: str | None = None):
    code, default = _messages().get(status, ("error", _("Something went wrong.")))
    text = message or default
    if wants_json():
        return api_error(status, code, text)
    return render_template("errors/error.html", status=status, message=text), status


def init_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _answer(400, _("The form has expired or is missing its security token. "
                              "Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        # Only messages written for users (abort_with) are shown; werkzeug's English ones are not.
        body, status = _answer(status, getattr(error, "user_message", None))
        # Headers the status needs keep their place, e.g. the methods a 405 allows (RFC 9110).
        headers = {name: value for name, value in error.get_headers()
                   if name.lower() not in ("content-type", "content-length")}
        return body, status, headers

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _answer(500)
