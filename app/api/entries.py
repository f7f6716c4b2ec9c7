"""API endpoints for registrations: lists, one entry, registering, and the review chain."""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request
from flask_babel import gettext as _

from app.api import CODE, ID, NO_CONTROLS, PAGE, endpoint, json_body
from app.errors import api_error
from app.extensions import db
from app.models import Entry, EntryStatus, Role, Track
from app.security import acting_user
from app.services import entries as entry_service

ENTRY_SCHEMA = {
    "type": "object",
    "required": ["id", "contest", "track", "name", "id_number", "enterprise", "status"],
    "properties": {
        "id": {"type": "integer"},
        "contest": {"type": "string"}, "track": {"type": "string"},
        "name": {"type": "string"},
        "id_number": {"type": "string", "description": "masked: 320102********1234"},
        "gender": {"type": "string", "enum": ["male", "female"]},
        "enterprise": {"type": "string"},
        "enterprise_category": {"type": ["string", "null"]},
        "city": {"type": ["string", "null"]},
        "post": {"type": ["string", "null"]},
        "team_name": {"type": ["string", "null"]},
        "years_as_leader": {"type": ["string", "null"], "description": "exact decimal"},
        "status": {"type": "string", "enum": [s.value for s in EntryStatus]},
        "rejection_reason": {"type": ["string", "null"]},
        "exam_number": {"type": ["string", "null"]},
    },
}

ENTRY_FIELDS_SCHEMA = {
    "type": "object",
    "required": ["contest", "track", "name", "gender", "id_number", "phone", "post",
                 "years_as_leader", "city"],
    "additionalProperties": False,
    "properties": {
        "contest": {"type": "string"}, "track": {"type": "string"},
        "name": {"type": "string", "maxLength": 60},
        "gender": {"type": "string", "description": "男 or 女"},
        "id_number": {"type": "string", "maxLength": 30},
        "phone": {"type": "string", "maxLength": 20},
        "enterprise": {"type": "string", "maxLength": 200,
                       "description": "ignored for enterprise contacts (their own enterprise)"},
        "enterprise_category": {"type": "string", "maxLength": 40},
        "city": {"type": "string", "maxLength": 40},
        "post": {"type": "string", "maxLength": 100},
        "team_name": {"type": "string", "maxLength": 100},
        # A JSON number is bounded here (1e239 once answered 500); text goes to the number parser.
        "years_as_leader": {"type": ["string", "number"], "minimum": 0, "maximum": 100},
        "skill_level": {"type": "string", "maxLength": 40},
        "honours": {"type": "string", "maxLength": 1000},
        "front_line": {"type": "boolean"},
    },
}

REVIEW_SCHEMA = {
    "type": "object", "required": ["action"], "additionalProperties": False,
    "properties": {"action": {"type": "string", "enum": list(entry_service.Review.ALL)},
                   "reason": {"type": "string", "maxLength": 1000,
                              "description": "required to reject: what the contestant reads"}},
    # A rejection carries a reason with something in it besides spaces.
    "if": {"properties": {"action": {"const": entry_service.Review.REJECT}}},
    "then": {"required": ["reason"], "properties": {"reason": {"pattern": r"\S"}}},
}


def entry_json(entry: Entry) -> dict:
    return {
        "id": entry.id, "contest": entry.contest.code, "track": entry.track.code,
        "name": entry.contestant.name, "id_number": entry.contestant.masked_id_number,
        "gender": entry.contestant.gender.value, "enterprise": entry.enterprise.name,
        "enterprise_category": entry.enterprise_category, "city": entry.city,
        "post": entry.post, "team_name": entry.team_name,
        "years_as_leader": str(entry.years_as_leader) if entry.years_as_leader is not None else None,
        "status": entry.status.value, "rejection_reason": entry.rejection_reason,
        "exam_number": entry.exam_number,
    }


def _visible(entry_id: int) -> Entry | None:
    return db.session.scalar(entry_service.visible_entries(acting_user()).where(Entry.id == entry_id))


@endpoint("/entries", summary="Registrations the caller may see (organisers: all; enterprise "
          "contacts: their enterprise's; contestants: their own)", tag="registrations",
          roles=(Role.ORGANISER, Role.ENTERPRISE_CONTACT, Role.CONTESTANT),
          query={"contest": CODE, "track": CODE,
                 "status": {"type": "string", "enum": [s.value for s in EntryStatus]},
                 "q": {"type": "string", "maxLength": 100, "pattern": NO_CONTROLS,
                       "description": "part of a name, ID number, phone or exam number"},
                 "page": PAGE},
          errors=(404,),
          response_schema={"type": "object", "required": ["entries", "page", "pages", "total"],
                           "properties": {"entries": {"type": "array", "items": ENTRY_SCHEMA},
                                          "page": {"type": "integer"},
                                          "pages": {"type": "integer"},
                                          "total": {"type": "integer"}}})
def list_entries():
    status = request.args.get("status")
    if status and status not in {s.value for s in EntryStatus}:
        return api_error(400, "bad_query", _("Unknown status %(status)s.", status=status))
    track_id = None
    if request.args.get("track"):
        query = sa.select(Track.id).where(Track.code == request.args["track"])
        if request.args.get("contest"):
            from app.models import Contest

            query = query.join(Contest).where(Contest.code == request.args["contest"])
        track_id = db.session.scalar(query.limit(1))
        if track_id is None:
            return api_error(404, "not_found", _("No such track."))
    entry_filter = entry_service.EntryFilter(
        track_id=track_id, status=EntryStatus(status) if status else None,
        search=request.args.get("q"))
    query = entry_filter.apply(entry_service.visible_entries(acting_user())).order_by(Entry.id)
    page = db.paginate(query, per_page=100, error_out=False)
    return jsonify(entries=[entry_json(e) for e in page.items], page=page.page, pages=page.pages,
                   total=page.total)


@endpoint("/entries/<int:entry_id>", summary="One registration", tag="registrations",
          roles=(Role.ORGANISER, Role.ENTERPRISE_CONTACT, Role.CONTESTANT),
          response_schema=ENTRY_SCHEMA)
def get_entry(entry_id: int):
    entry = _visible(entry_id)
    if entry is None:
        return api_error(404, "not_found", _("No such entry."))
    return jsonify(entry_json(entry))


@endpoint("/entries", method="POST", summary="Register (contestants for themselves, enterprise "
          "contacts for their people)", tag="registrations",
          roles=(Role.CONTESTANT, Role.ENTERPRISE_CONTACT), status=201, errors=(404, 409),
          request_schema=ENTRY_FIELDS_SCHEMA, response_schema=ENTRY_SCHEMA)
def create_entry():
    body = json_body()
    from app.models import Contest

    track = db.session.scalar(sa.select(Track).join(Contest).where(
        Contest.code == body["contest"], Track.code == body["track"]))
    if track is None:
        return api_error(404, "not_found", _("No such track."))
    entry = entry_service.register(acting_user(), track, body)
    return jsonify(entry_json(entry)), 201


@endpoint("/entries/<int:entry_id>/review", method="POST", summary="One step of the review "
          "chain: endorse, approve or reject (with a reason)", tag="registrations",
          roles=(Role.ORGANISER, Role.ENTERPRISE_CONTACT), request_schema=REVIEW_SCHEMA,
          errors=(409,), response_schema=ENTRY_SCHEMA)
def review_entry(entry_id: int):
    entry = _visible(entry_id)
    if entry is None:
        return api_error(404, "not_found", _("No such entry."))
    body = json_body()
    entry_service.review(entry, body["action"], acting_user(), body.get("reason"))
    return jsonify(entry_json(entry))


@endpoint("/entries/review", method="POST", summary="The same review step for many entries; "
          "each that cannot take it is reported with the reason", tag="registrations",
          roles=(Role.ORGANISER, Role.ENTERPRISE_CONTACT),
          request_schema={**REVIEW_SCHEMA, "required": ["action", "entry_ids"],
                          "properties": {**REVIEW_SCHEMA["properties"],
                                         "entry_ids": {"type": "array", "minItems": 1,
                                                       "maxItems": 10000, "items": ID}}},
          response_schema={"type": "object", "required": ["done", "skipped"], "properties": {
              "done": {"type": "array", "items": {"type": "integer"}},
              "skipped": {"type": "array", "items": {
                  "type": "object", "required": ["id", "reason"],
                  "properties": {"id": {"type": "integer"}, "reason": {"type": "string"}}}}}})
def review_entries():
    body = json_body()
    visible = set(db.session.scalars(
        entry_service.visible_entries(acting_user()).with_only_columns(Entry.id)
        .where(Entry.id.in_(body["entry_ids"]))))
    outcome = entry_service.review_many(sorted(visible), body["action"], acting_user(),
                                        body.get("reason"))
    skipped = [{"id": i, "reason": r} for i, r in outcome.skipped]
    skipped += [{"id": i, "reason": _("No such entry.")} for i in body["entry_ids"]
                if i not in visible]
    return jsonify(done=outcome.done, skipped=skipped)
