"""The confirmation step of an irreversible action: a POST without the confirmation (or with
one given for other facts) renders what will happen and changes nothing; the same POST with the
confirmation's stamp goes ahead. Server-rendered, so it needs no script (the CSP forbids inline
ones)."""
from __future__ import annotations

from collections.abc import Mapping

from flask import render_template, request

from app.services.confirmations import Confirmation


def confirmed(confirmation: Confirmation) -> bool:
    """Whether this request carries the confirmation of exactly these facts (or the step would
    be refused anyway: then the service says why, and there is nothing to confirm)."""
    return confirmation.blocked or request.form.get("confirm") == confirmation.stamp


def ask(confirmation: Confirmation, *, cancel: str, carry: Mapping[str, str] | None = None):
    """The confirmation page: the consequences, the same form's fields carried in hidden
    inputs, and the stamp. A stale stamp (the facts changed since) is said so."""
    return render_template("admin/confirm.html", confirmation=confirmation, cancel=cancel,
                           carry=dict(carry or {}), action=request.path,
                           changed="confirm" in request.form)
