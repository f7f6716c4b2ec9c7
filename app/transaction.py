"""The request owns the transaction: the one place a web request's work is committed or undone.

A request's work is committed when its view answered below 400 without raising and without a
refusal; anything else rolls it back: an exception (handled or not), a service's refusal shown
to the user (``refuse``, called by app/errors.py), an error status. Services only flush; views
neither commit nor roll back.

Two kinds of work run outside requests and own their transactions: the `flask` commands
(app/cli.py: each commits once at its end, or rolls back on a refusal) and the background check
of a large upload (app/services/imports.py: a thread of its own, started after the request that
staged the upload has committed, which commits its progress as it goes). Nothing else commits.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g, request
from sqlalchemy.exc import IntegrityError

from app.extensions import db


def refuse(status: int) -> None:
    """Mark this request refused with ``status`` and undo its work at once, before the answer is
    built: the page shown next reads the database as it was. The request never commits."""
    db.session.rollback()
    g.refused_status = status


def commit_despite_refusal() -> None:
    """Keep this request's writes although its answer is a refusal: a failed sign-in is
    answered 401 and still counted against the account. Declared by the view that needs it."""
    g.commit_despite_refusal = True


def transaction_mode(prepare: Callable[[], None]) -> Callable:
    """Declare on a route that it sets up its own database session: ``prepare()`` runs first in
    the request, before anything (the signed-in user included) has touched the database -- e.g.
    the judges' autosave, whose statements commit by themselves on PostgreSQL. The request still
    ends here like any other."""

    def declare(view: Callable) -> Callable:
        view.prepare_transaction = prepare  # type: ignore[attr-defined]  (wraps() copies it)
        return view

    return declare


def init_request_transaction(app: Flask) -> None:
    """Register the request's transaction: the declared mode first of all, the commit (or the
    rollback) when the view has answered, a rollback after any exception."""

    def prepare_declared_mode():
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        prepare = getattr(view, "prepare_transaction", None)
        if prepare is not None:
            prepare()

    # Before every other hook of the app: none of them may have opened a transaction yet.
    app.before_request_funcs.setdefault(None, []).insert(0, prepare_declared_mode)

    @app.after_request
    def commit_or_roll_back(response):
        refused = g.get("refused_status")
        if (refused is not None or response.status_code >= 400) \
                and not g.get("commit_despite_refusal"):
            db.session.rollback()
            if refused is not None and response.status_code < 300:
                response.status_code = refused  # a page shown after a refusal is not a 200
            return response
        try:
            db.session.commit()
        except IntegrityError as error:
            # A constraint the services could not foresee (two requests at once): the app's
            # IntegrityError handler answers it (409), as it would inside the view.
            app_ = current_app._get_current_object()  # type: ignore[attr-defined]
            return app_.make_response(app_.handle_user_exception(error))
        return response

    @app.teardown_request
    def roll_back_after_an_exception(exc):
        if exc is not None:
            db.session.rollback()
