"""Error answers: JSON for the API, Chinese (or the chosen language) HTML pages for browsers;
and the one way a service's refusal (ServiceError) becomes an answer, its work rolled back."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from flask import Flask, flash, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from app.services import FieldErrors, ServiceError
from app.transaction import refuse

# The one table from a refusal's code (ServiceError.code) to the status it answers, on the API
# and on a browser's page alike. Wrong input is 422; the state of things refusing the change
# (taken, in use, already done, not yet possible) is 409.
REFUSAL_STATUS: dict[str, int] = {
    "invalid": 422,
    "unreadable": 422,
    "not_importable": 422,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "in_use": 409,
    "full": 409,
    "no_room": 409,
    "drawn": 409,
    "scored": 409,
    "bad_transition": 409,
    "not_ready": 409,
    "confirmation_required": 409,
    "no_match": 422,
}


def refusal_status(error: ServiceError) -> int:
    return REFUSAL_STATUS.get(error.code, 422)


def wants_json() -> bool:
    """API calls, and requests that send or prefer JSON (the judges' autosave), get JSON."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def api_error(status: int, code: str, message: str, **extra):
    """The API's one error shape: {"error": {"code": ..., "message": ...}}."""
    body = {"error": {"code": code, "message": message, **extra}}
    return jsonify(body), status


def refusal_details(error: ServiceError) -> list[dict]:
    """Each message of a refusal with the field it is about (null: the request as a whole)."""
    if isinstance(error, FieldErrors):
        return [{"field": name, "reason": message} for name, message in error.errors.items()]
    return [{"field": error.field, "reason": error.message}]


def abort_with(status: int, message: str):
    """Stop the request with ``status`` and a message written for the user."""
    from werkzeug.exceptions import default_exceptions

    error = default_exceptions[status]()
    error.user_message = message  # type: ignore[attr-defined]
    raise error


class Refusal:
    """How a browser view shows a service's refusal: the request is marked refused (its work is
    rolled back at once, and a page shown after it answers the refusal's status, e.g. 422), and
    each message is put where the person will read it. API views do not use it: there a
    ServiceError propagates to the one handler below.

    A form shown again::

        refusal = Refusal(form)
        if form.validate_on_submit():
            with refusal:
                thing = service.change(...)
                flash(...)
                return redirect(...)
        return render_template(..., form=form, errors=refusal.errors)

    A message and a redirect::

        with Refusal():
            service.delete(...)
            flash(...)
        return redirect(...)

    Where each message goes: next to its field when the page shows that field (a field of
    ``form``, under the service's name or its ``aliases`` name; or one of ``fields``, which the
    page renders itself from ``errors``); a message for no such field goes next to ``default``
    when the view names one, else it is flashed (shown on the page rendered or redirected to)."""

    def __init__(self, form=None, *, default: str | None = None, fields: Iterable[str] = (),
                 aliases: Mapping[str, str] | None = None):
        self.form, self.default, self.aliases = form, default, dict(aliases or {})
        self.fields = set(fields)
        self.errors: dict[str, str] = {}
        self.error: ServiceError | None = None

    @property
    def refused(self) -> bool:
        return self.error is not None

    def __enter__(self) -> Refusal:
        return self

    def __exit__(self, kind, error, _traceback) -> bool:
        if not isinstance(error, ServiceError):
            return False
        refuse(refusal_status(error))
        self.error = error
        if self.form is not None:
            from app.inputs import remember_refused_form  # not at the top: an import cycle

            remember_refused_form(self.form)
        messages = error.errors if isinstance(error, FieldErrors) else {error.field: error.message}
        form_fields = {field.name: field for field in _fields(self.form)} if self.form is not None else {}
        for name, message in messages.items():
            shown = self.aliases.get(name, name) if name else None
            if shown not in form_fields and shown not in self.fields:
                shown = self.default
            if shown in form_fields:
                field = form_fields[shown]
                field.errors = [*field.errors, message] if isinstance(field.errors, list) \
                    else [message]
            elif shown in self.fields:
                self.errors[shown] = message
            else:
                flash(message, "danger")
        return True


def _fields(fields) -> Iterator:
    """Every field of a form, those of its FieldLists and FormFields included."""
    from wtforms import FieldList, FormField

    for field in fields:
        if isinstance(field, FieldList | FormField):
            yield from _fields(field)
        else:
            yield field


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: ("bad_request", _("The request could not be understood.")),
        401: ("unauthorized", _("Please sign in first.")),
        403: ("forbidden", _("You do not have permission to view this page.")),
        404: ("not_found", _("The page you asked for does not exist.")),
        405: ("method_not_allowed", _("This action is not allowed here.")),
        409: ("conflict", _("The change clashes with one saved at the same moment (for example "
                            "the same name twice); nothing was saved. Reload the page and try "
                            "again.")),
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
    """Every error handler refuses the request first: its work is rolled back, never committed."""

    @app.errorhandler(ServiceError)
    def refused(error: ServiceError):
        """The one answer to a refusal no view showed itself: JSON from the one table for the
        API (and JSON requests), else the error page with the refusal's status and message."""
        status = refusal_status(error)
        refuse(status)
        if wants_json():
            return api_error(status, error.code, error.message, details=refusal_details(error))
        return render_template("errors/error.html", status=status, message=error.message), status

    @app.errorhandler(IntegrityError)
    def clashing_write(error: IntegrityError):
        """A constraint the services' checks could not foresee (two requests at once): 409."""
        refuse(409)
        app.logger.warning("Write refused by the database on %s %s: %s", request.method,
                           request.path, error.orig)
        return _answer(409)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        refuse(400)
        return _answer(400, _("The form has expired or is missing its security token. "
                              "Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        refuse(status)
        # Only messages written for users (abort_with) are shown; werkzeug's English ones are not.
        body, status = _answer(status, getattr(error, "user_message", None))
        # Headers the status needs keep their place, e.g. the methods a 405 allows (RFC 9110).
        headers = {name: value for name, value in error.get_headers()
                   if name.lower() not in ("content-type", "content-length")}
        return body, status, headers

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        refuse(500)
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _answer(500)
