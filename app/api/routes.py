"""API endpoints of the foundation: the document itself, the caller, contests, accounts."""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request
from flask_babel import gettext as _

from app.api import PAGE, endpoint, json_body, openapi_document
from app.errors import api_error
from app.extensions import db
from app.models import Contest, EntryStatus, Role, User
from app.security import acting_user
from app.services import accounts
from app.services import dashboard as dashboard_service

USER_SCHEMA = {
    "type": "object",
    "required": ["id", "username", "display_name", "role", "active"],
    "properties": {
        "id": {"type": "integer"}, "username": {"type": "string"},
        "display_name": {"type": "string"},
        "role": {"type": "string", "enum": [r.value for r in Role]},
        "active": {"type": "boolean"},
        "enterprise_id": {"type": ["integer", "null"]},
    },
}

STAGE_SCHEMA = {
    "type": "object",
    "required": ["seq", "kind", "name", "status"],
    "properties": {
        "seq": {"type": "integer"}, "kind": {"type": "string"}, "name": {"type": "string"},
        "status": {"type": "string"}, "quota": {"type": ["integer", "null"]},
        "per_enterprise_cap": {"type": ["integer", "null"]},
        "components": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "kind", "weight", "maximum"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                           "kind": {"type": "string"},
                           "weight": {"type": "string", "description": "percent, exact decimal"},
                           "maximum": {"type": "string", "description": "exact decimal"}}}},
    },
}

TRACK_SCHEMA = {
    "type": "object",
    "required": ["code", "name", "stages"],
    "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "host_union": {"type": ["string", "null"]},
        "stages": {"type": "array", "items": STAGE_SCHEMA},
        "entries_by_status": {"type": "object",
                              "additionalProperties": {"type": "integer"},
                              "description": "organisers only"},
    },
}

CONTEST_SCHEMA = {
    "type": "object",
    "required": ["code", "name", "year"],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                   "year": {"type": "integer"}, "organiser": {"type": ["string", "null"]},
                   "is_template": {"type": "boolean"}},
}


def user_json(user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "role": user.role.value, "active": user.active, "enterprise_id": user.enterprise_id}


def contest_json(contest: Contest) -> dict:
    return {"code": contest.code, "name": contest.name, "year": contest.year,
            "organiser": contest.organiser, "is_template": contest.is_template}


@endpoint("/openapi.json", summary="This API's OpenAPI 3 document", tag="meta", public=True,
          response_schema={"type": "object", "required": ["openapi", "paths"]})
def openapi_json():
    return jsonify(openapi_document(request.script_root + "/api/v1"))


@endpoint("/me", summary="The account behind the token", tag="accounts",
          response_schema=USER_SCHEMA)
def me():
    return jsonify(user_json(acting_user()))


@endpoint("/contests", summary="Contests", tag="contests",
          response_schema={"type": "object", "required": ["contests"],
                           "properties": {"contests": {"type": "array", "items": CONTEST_SCHEMA}}})
def list_contests():
    return jsonify(contests=[contest_json(c) for c in dashboard_service.contests()])


@endpoint("/contests/<code>/tracks", summary="A contest's tracks, stages and components "
          "(organisers also get entries by status)", tag="contests",
          response_schema={"type": "object", "required": ["contest", "tracks"],
                           "properties": {"contest": CONTEST_SCHEMA,
                                          "tracks": {"type": "array", "items": TRACK_SCHEMA}}})
def contest_tracks(code: str):
    contest = db.session.scalar(sa.select(Contest).where(Contest.code == code))
    if contest is None:
        return api_error(404, "not_found", _("No contest with code %(code)s.", code=code))
    counts = {}
    if acting_user().role == Role.ORGANISER:
        counts = {row["track"].id: row["counts"] for row in
                  dashboard_service.entries_by_status(contest)}
    tracks = []
    for track in contest.tracks:
        item = {"code": track.code, "name": track.name, "host_union": track.host_union,
                "stages": [{
                    "seq": s.seq, "kind": s.kind.value, "name": s.name, "status": s.status.value,
                    "quota": s.quota, "per_enterprise_cap": s.per_enterprise_cap,
                    "components": [{"code": c.code, "name": c.name, "kind": c.kind.value,
                                    "weight": str(c.weight), "maximum": str(c.maximum)}
                                   for c in s.components],
                } for s in track.stages]}
        if track.id in counts:
            item["entries_by_status"] = {
                status.value: n for status, n in counts[track.id].items()
                if isinstance(status, EntryStatus)}
        tracks.append(item)
    return jsonify(contest=contest_json(contest), tracks=tracks)


@endpoint("/users", summary="Accounts (organisers)", tag="accounts", roles=(Role.ORGANISER,),
          query={"role": {"type": "string", "enum": [r.value for r in Role]},
                 "page": PAGE},
          response_schema={"type": "object", "required": ["users", "page", "pages", "total"],
                           "properties": {"users": {"type": "array", "items": USER_SCHEMA},
                                          "page": {"type": "integer"},
                                          "pages": {"type": "integer"},
                                          "total": {"type": "integer"}}})
def list_users():
    query = sa.select(User).order_by(User.id)
    role = request.args.get("role")
    if role is not None:
        if role not in {r.value for r in Role}:
            return api_error(400, "bad_query", _("Unknown role %(role)s.", role=role))
        query = query.where(User.role == Role(role))
    page = db.paginate(query, per_page=100, error_out=False)
    return jsonify(users=[user_json(u) for u in page.items], page=page.page,
                   pages=page.pages, total=page.total)


@endpoint("/users", method="POST", summary="Create an account (organisers)", tag="accounts",
          roles=(Role.ORGANISER,), status=201, errors=(409,), response_schema=USER_SCHEMA,
          request_schema={
              "type": "object", "required": ["username", "display_name", "role", "password"],
              "additionalProperties": False,
              "properties": {
                  "username": {"type": "string", "minLength": 1, "maxLength": 64,
                               "pattern": "^[A-Za-z0-9_.@-]+$"},
                  "display_name": {"type": "string", "minLength": 1, "maxLength": 100},
                  "role": {"type": "string", "enum": [r.value for r in Role]},
                  "password": {"type": "string", "minLength": 8},
                  "phone": {"type": "string", "pattern": "^1[0-9]{10}$"},
              }})
def create_user():
    body = json_body()
    user = accounts.create_user(body["username"], body["display_name"], Role(body["role"]),
                                body["password"], phone=body.get("phone"), actor=acting_user())
    return jsonify(user_json(user)), 201
