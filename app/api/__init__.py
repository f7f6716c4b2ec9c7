"""The JSON API under /api/v1: bearer tokens, role checks as in the UI, one error shape,
and an OpenAPI 3 document built from the same declarations that register the routes."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema
from flask import Blueprint, g, request
from flask_babel import gettext as _

from app.errors import api_error
from app.inputs import ID_MAX, hostile_json
from app.models import Role
from app.security import roles_required

bp = Blueprint("api", __name__)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"type": "array", "items": {"type": "object"}}},
    }},
}


#: A record id inside a request body: the database's integer range, as in every URL.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": ID_MAX}


class Operation:
    """One documented endpoint: its rule, method, roles and schemas."""

    def __init__(self, rule: str, method: str, view: Callable, summary: str, tag: str,
                 roles: tuple[Role, ...], public: bool, scope: str | None,
                 request_schema: dict | None, response_schema: dict | None, status: int,
                 query: dict[str, dict] | None, errors: tuple[int, ...] = (),
                 form_schema: dict | None = None, content_type: str = "application/json"):
        self.rule, self.method, self.view, self.summary, self.tag = rule, method, view, summary, tag
        self.roles, self.public, self.scope = roles, public, scope
        self.request_schema, self.response_schema = request_schema, response_schema
        self.status, self.query, self.errors = status, query or {}, errors
        self.form_schema = form_schema
        self.content_type = content_type


OPERATIONS: list[Operation] = []


def json_body() -> dict[str, Any]:
    """The request's JSON object, validated by the endpoint's declared schema."""
    return g.json_body


def endpoint(rule: str, *, method: str = "GET", summary: str, tag: str,
             roles: tuple[Role, ...] = (), public: bool = False, scope: str | None = None,
             request_schema: dict | None = None, response_schema: dict | None = None,
             status: int = 200, query: dict[str, dict] | None = None,
             errors: tuple[int, ...] = (), form_schema: dict | None = None,
             content_type: str = "application/json") -> Callable:
    """Register an API view and its OpenAPI operation in one place.

    ``roles`` empty means any signed-in user; ``public`` needs no token at all; ``scope`` names
    the token scope kind (e.g. ``component``) a narrowed token must carry to use this endpoint.
    ``errors`` documents further error statuses the view answers (e.g. 409 for a conflict).
    ``form_schema`` documents a multipart/form-data body (a file upload); the view reads it.
    ``content_type`` is the media type of a successful answer (a file download, e.g. .xlsx).
    """

    def decorator(view: Callable) -> Callable:
        def run(*args, **kwargs):
            token = g.get("api_token")
            if token is not None and token.scope and (
                    scope is None or not token.scope.startswith(scope + ":")):
                return api_error(403, "token_scope",
                                 _("This token is limited to %(scope)s.", scope=token.scope))
            if request_schema is not None:
                body = request.get_json(silent=True)
                if not isinstance(body, dict):
                    return api_error(400, "malformed_body",
                                     _("The request body must be a JSON object."))
                errors = sorted(jsonschema.Draft202012Validator(request_schema).iter_errors(body),
                                key=lambda e: list(e.path))
                if errors:
                    details = [{"field": ".".join(str(p) for p in e.path) or None,
                                "reason": e.message} for e in errors]
                    return api_error(422, "invalid_body",
                                     _("The request body is not valid."), details=details)
                hostile = hostile_json(body)
                if hostile:
                    return api_error(422, "invalid_body", hostile[0]["reason"], details=hostile)
                g.json_body = body
            return view(*args, **kwargs)

        run.__name__ = view.__name__
        run.__doc__ = view.__doc__
        guarded = run if public else roles_required(*roles)(run)
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=guarded, methods=[method])
        OPERATIONS.append(Operation(rule, method, guarded, summary, tag, roles, public, scope,
                                    request_schema, response_schema, status, query, errors,
                                    form_schema, content_type))
        return guarded

    return decorator


@bp.before_request
def authenticate_bearer():
    """Take the user from ``Authorization: Bearer …``; the session cookie is never used here."""
    from app.services.accounts import user_for_token

    g.api_user = None
    g.api_token = None
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return api_error(401, "unauthorized", _("Use the header Authorization: Bearer <token>."))
    found = user_for_token(secret.strip())
    if found is None:
        return api_error(401, "invalid_token", _("The token is unknown, revoked or expired."))
    g.api_user, g.api_token = found
    return None


_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_document(server_url: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.1 description of every registered operation."""
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        params = []
        for converter, name in _CONVERTER.findall(op.rule):
            schema = ID_SCHEMA if converter == "int" else {"type": "string", "maxLength": 200}
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
        for name, schema in op.query.items():
            params.append({"name": name, "in": "query", "required": False, "schema": schema})
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", op.rule)
        responses: dict[str, Any] = {
            str(op.status): {"description": "OK", "content": {
                op.content_type: {"schema": op.response_schema or {"type": "object"}}}},
        }
        error_codes = ["400", "422"] if op.request_schema or op.form_schema else []
        if not op.public:
            error_codes += ["401", "403"]
        if params:
            error_codes.append("404")
        error_codes += [str(code) for code in op.errors if str(code) not in error_codes]
        for code in error_codes:
            responses[code] = {"description": "Error", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        operation: dict[str, Any] = {
            "operationId": op.view.__name__, "summary": op.summary, "tags": [op.tag],
            "parameters": params, "responses": responses,
            "security": [] if op.public else [{"bearerAuth": []}],
        }
        if op.roles:
            operation["x-roles"] = [r.value for r in op.roles]
        if op.request_schema:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": op.request_schema}}}
        elif op.form_schema:
            operation["requestBody"] = {"required": True, "content": {
                "multipart/form-data": {"schema": op.form_schema}}}
        paths.setdefault(path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Contest system API", "version": "1.0.0",
                 "description": "Errors are always {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }


from app.api import (  # noqa: E402,F401  (registers the endpoints)
    appeals,
    contests,
    entries,
    imports,
    rechecks,
    result_imports,
    results,
    routes,
)
