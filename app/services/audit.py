"""The one audit helper: every change to a score, an entry, a list or an account goes here."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, request

from app.extensions import db
from app.models import AuditLog, User


def _actor() -> User | None:
    if not has_request_context():
        return None
    from app.security import acting_user

    return acting_user()


def fields(action: str, object_type: str, object_id: int | None, summary: str,
           before: dict | None, after: dict | None, reason: str | None, actor: User | None,
           stage_id: int | None) -> dict[str, Any]:
    """An audit row's columns (but its time), for a caller writing it in its own statement."""
    return {
        "actor_id": actor.id if actor is not None else None,
        "actor_name": actor.username if actor is not None else "system",
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "stage_id": stage_id,
        "summary": summary,
        "before": before,
        "after": after,
        "reason": reason,
        "ip": request.remote_addr if has_request_context() else None,
    }


def record(action: str, obj: Any | None, summary: str, *, before: dict | None = None,
           after: dict | None = None, reason: str | None = None, actor: User | None = None,
           stage_id: int | None = None) -> AuditLog:
    """Append one audit row for ``action`` on ``obj``; the actor defaults to the request's user."""
    actor = actor or _actor()
    entry = AuditLog(**fields(
        action, type(obj).__name__ if obj is not None else "-", getattr(obj, "id", None),
        summary, before, after, reason, actor, stage_id))
    db.session.add(entry)
    return entry


def snapshot(obj: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The named attributes of ``obj`` as JSON-safe values, for an audit row's before/after:
    decimals as exact strings without trailing zeros (30.00 and 30 are the same setting),
    enums as their values, dates in ISO format."""
    return {name: json_safe(getattr(obj, name)) for name in fields}


def json_safe(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
