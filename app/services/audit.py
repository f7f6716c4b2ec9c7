"""The one audit helper: every change to a score, an entry, a list or an account goes here."""
from __future__ import annotations

import enum
import re
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


def entry_words(entry: Any) -> str:
    """An entry as an audit summary names it: the person's name and, once issued, the exam
    number (never the entry's id)."""
    name = entry.contestant.name if entry.contestant is not None else "—"
    return f"{name}（{entry.exam_number}）" if entry.exam_number else name


def entry_status_words(status: Any) -> str:
    """An entry status in the Chinese the log is written in, whoever's request wrote it."""
    from flask_babel import force_locale

    from app.labels import ENTRY_STATUS

    if status is None:
        return "—"
    with force_locale("zh"):
        return str(ENTRY_STATUS.get(status, status))


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


# --- The log read by people: actions, objects and before/after in words ----------------------

def action_name(code: str) -> str:
    """The Chinese name of an action code (one table, app.labels.AUDIT_ACTIONS); an import's
    action is named by what was imported."""
    from app.labels import AUDIT_ACTIONS, IMPORT_KINDS

    if code in AUDIT_ACTIONS:
        return str(AUDIT_ACTIONS[code])
    parts = code.split(".")
    if parts[0] == "import" and len(parts) in (2, 3) and parts[1] in IMPORT_KINDS:
        done, cancelled, changed = IMPORT_KINDS[parts[1]]
        return str({2: done, 3: cancelled if parts[-1] == "cancel" else changed}[len(parts)])
    return code  # a code with no name: the source check test fails before it is ever shown


def object_name(object_type: str) -> str:
    from app.labels import AUDIT_OBJECTS

    return str(AUDIT_OBJECTS.get(object_type, "")) if object_type != "-" else ""


def category_prefixes(category: str) -> tuple[str, ...]:
    from app.labels import AUDIT_CATEGORIES

    return AUDIT_CATEGORIES[category][1] if category in AUDIT_CATEGORIES else ()


def _value_names() -> dict[str, str]:
    import app.labels as labels

    names: dict[str, str] = {}
    for table in (labels.ENTRY_STATUS, labels.STAGE_STATUS, labels.STAGE_KIND,
                  labels.COMPONENT_KIND, labels.SCORE_SOURCE, labels.AGGREGATION,
                  labels.JUDGEMENT_ORDER, labels.CUTOFF_TIE_POLICY, labels.STANDARDISATION,
                  labels.MARKING_NODE, labels.ITEM_KIND, labels.DISQUALIFY_SCOPE,
                  labels.VERSION_STATUS, labels.LIST_STATUS, labels.ADVANCEMENT_STATUS, labels.POOL_STATE, labels.CERTIFICATE_STATE,
                  labels.ROLE_LABELS):
        for key, label in table.items():
            names.setdefault(str(getattr(key, "value", key)), str(label))
    from app.services.stage_flow import RULES

    for step, rule in RULES.items():
        names.setdefault(step.value, str(rule.label))
    return names


def _value_text(value: Any, names: dict[str, str]) -> str:
    from flask_babel import gettext

    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, list):
        if all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value) \
                and not all(isinstance(v, int) for v in value):
            return "、".join(_value_text(v, names) for v in value) or "—"
        return gettext("%(n)d items", n=len(value))
    if isinstance(value, dict):
        return gettext("%(n)d items", n=len(value))
    if isinstance(value, str) and _MOMENT_TEXT.match(value):  # a stored (UTC) moment
        from app.display import display_datetime

        return display_datetime(datetime.fromisoformat(value))
    if isinstance(value, str) and _DECIMAL_TEXT.match(value):
        return value.rstrip("0").rstrip(".")  # exact, as snapshot() writes decimals
    if isinstance(value, str):
        return names.get(value, value)
    return str(value)


_DECIMAL_TEXT = re.compile(r"^-?\d+\.\d+$")
_MOMENT_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def _field_name(path: tuple[str, ...]) -> str:
    from app.labels import AUDIT_FIELDS

    return "·".join(str(AUDIT_FIELDS.get(key, key)) for key in path)


def _flatten(value: Any, path: tuple[str, ...], out: dict[tuple[str, ...], Any]) -> None:
    from app.labels import AUDIT_HIDDEN_FIELDS

    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key) not in AUDIT_HIDDEN_FIELDS:
                _flatten(inner, (*path, str(key)), out)
    else:
        out[path] = value


def readable_changes(before: dict | None, after: dict | None) -> list[str]:
    """An audit row's before/after as lines a person reads: 字段：旧值 → 新值, fields by their
    Chinese names, values by their labels, internal ids and fingerprints left out; a field only
    after the change reads 字段：值."""
    names = _value_names()
    old: dict[tuple[str, ...], Any] = {}
    new: dict[tuple[str, ...], Any] = {}
    _flatten(before if isinstance(before, dict) else {}, (), old)
    _flatten(after if isinstance(after, dict) else {}, (), new)
    lines = []
    for path in list(dict.fromkeys([*old, *new])):
        if not path:
            continue
        if path in old and path in new:
            if old[path] == new[path]:
                continue
            lines.append(f"{_field_name(path)}：{_value_text(old[path], names)} → "
                         f"{_value_text(new[path], names)}")
        elif path in new:
            lines.append(f"{_field_name(path)}：{_value_text(new[path], names)}")
        else:
            lines.append(f"{_field_name(path)}：{_value_text(old[path], names)} → —")
    return lines
