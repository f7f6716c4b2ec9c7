"""The JSON API under /api/v1: bearer tokens, role checks as in the UI, one error shape,
and an OpenAPI 3 document built from the same declarations that register the routes."""
from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import jsonschema
from flask import Blueprint, g, request
from flask_babel import gettext as _

from app.errors import api_error
from app.inputs import hostile_json
from app.models import Role
from app.security import roles_required
from app.services.contests import CODE_PATTERN

bp = Blueprint("api", __name__)

# Every id, and every whole number a request may store, lives in a PostgreSQL ``integer``
# column: a value beyond it can name nothing and is refused before it reaches the database.
INT_MIN, INT_MAX = -2_147_483_648, 2_147_483_647
ID = {"type": "integer", "minimum": 1, "maximum": INT_MAX}
# Contests, tracks and components are named in paths by codes, which are made by this pattern.
CODE = {"type": "string", "pattern": CODE_PATTERN.pattern}
PAGE = {"type": "integer", "minimum": 1, "maximum": 100_000}
# Searched text: no control characters (PostgreSQL's text cannot even hold NUL).
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"

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


_TYPE_WORDS = {"integer": "整数", "number": "数值", "string": "文本", "object": "对象",
               "array": "列表", "boolean": "是或否（true/false）", "null": "空值"}


def schema_problem(error: jsonschema.ValidationError) -> dict[str, Any]:
    """A request body's schema error as the API's error detail, in Chinese: the field (a dotted
    path) and what is wrong with it (jsonschema's own messages are English)."""
    field = ".".join(str(p) for p in error.path) or None
    kind, value = error.validator, error.validator_value
    if kind == "required":
        missing = next((name for name in value if isinstance(error.instance, dict)
                        and name not in error.instance), None)
        field = ".".join(filter(None, [field, missing])) or None
        reason = _("This field is required.")
    elif kind == "type":
        kinds = value if isinstance(value, list) else [value]
        reason = "应为" + "或".join(_TYPE_WORDS.get(k, k) for k in kinds)
    elif kind in ("minimum", "exclusiveMinimum"):
        reason = f"不能小于{value}" if kind == "minimum" else f"应大于{value}"
    elif kind in ("maximum", "exclusiveMaximum"):
        reason = f"不能大于{value}" if kind == "maximum" else f"应小于{value}"
    elif kind == "minLength":
        reason = "不能为空" if value == 1 else f"至少{value}个字符"
    elif kind == "maxLength":
        reason = f"最多{value}个字符"
    elif kind == "minItems":
        reason = f"至少{value}项"
    elif kind == "maxItems":
        reason = f"最多{value}项"
    elif kind == "enum":
        reason = "应为以下之一：" + "、".join(str(v) for v in value)
    elif kind == "pattern":
        reason = "格式不正确"
    elif kind == "additionalProperties":
        reason = "包含不允许的字段"
    else:
        reason = "取值不符合要求"
    return {"field": field, "reason": reason}


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
        self.path = {name: ID if converter == "int" else CODE
                     for converter, name in _CONVERTER.findall(rule)}

    @property
    def has_body(self) -> bool:
        return self.request_schema is not None or self.form_schema is not None

    def error_statuses(self) -> list[int]:
        """Every error status the operation can answer, as the document lists them.

        400: a query parameter not in the document or a value outside its schema, a body that
        is not JSON (or a form without its file); 401: no valid token; 403: a role or token scope that may not call it; 404: a path
        naming nothing; 413: a body over the upload limit; 422: a body outside its schema or
        refused by a rule; and whatever the view declares (e.g. 409 for the state of things)."""
        statuses = {400, *self.errors}
        if self.has_body:
            statuses |= {413, 422}
        if not self.public:
            statuses |= {401, 403}
        if self.path:
            statuses.add(404)
        return sorted(statuses)

    def refuse_parameters(self, values: dict[str, Any]):
        """The error answer for path or query values outside the document, else None: a path
        value names nothing (404); a query parameter is not in the document, or its value is not of its schema, or
        it is sent twice (400)."""
        for name, schema in self.path.items():
            if not _SCHEMA_CHECKERS(schema).is_valid(values.get(name)):
                return api_error(404, "not_found", _("The page you asked for does not exist."))
        unknown = sorted(set(request.args) - set(self.query))
        if unknown:
            return api_error(400, "bad_query", _(
                "The query parameter %(name)s is not valid: see the API document.",
                name=unknown[0]))
        for name, schema in self.query.items():
            sent = request.args.getlist(name)
            if not sent:
                continue
            if len(sent) > 1 or not _SCHEMA_CHECKERS(schema).is_valid(_typed(sent[0], schema)):
                return api_error(400, "bad_query", _(
                    "The query parameter %(name)s is not valid: see the API document.",
                    name=name))
        return None


OPERATIONS: list[Operation] = []
PUBLIC_ENDPOINTS: set[str] = set()  # open to anyone: an Authorization header is not even read
_SCHEMA_CHECKERS = jsonschema.Draft202012Validator
_WHOLE_NUMBER = re.compile(r"^-?[0-9]+$")


def _typed(text: str, schema: dict) -> Any:
    """A query value as its schema's type: digits for an integer, else the text as sent."""
    if schema.get("type") == "integer" and _WHOLE_NUMBER.match(text):
        return int(text)
    return text


def storable(schema: Any) -> Any:
    """A request schema in which every integer without bounds of its own is bounded to what a
    PostgreSQL ``integer`` column holds, so that no value the document accepts overflows."""
    if isinstance(schema, list):
        return [storable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: storable(value) if key not in ("enum", "const", "required") else value
           for key, value in schema.items()}
    kinds = out.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "integer" in kinds:
        out.setdefault("minimum", INT_MIN)
        out.setdefault("maximum", INT_MAX)
    return out


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

    request_schema = storable(request_schema)
    query = {name: storable(schema) for name, schema in (query or {}).items()}

    def decorator(view: Callable) -> Callable:
        def run(*args, **kwargs):
            token = g.get("api_token")
            if not public and token is not None and token.scope and (
                    scope is None or not token.scope.startswith(scope + ":")):
                return api_error(403, "token_scope",
                                 _("This token is limited to %(scope)s.", scope=token.scope))
            refused = operation.refuse_parameters(kwargs)
            if refused is not None:
                return refused
            if request_schema is not None:
                body = request.get_json(silent=True)
                if not isinstance(body, dict):
                    return api_error(400, "malformed_body",
                                     _("The request body must be a JSON object."))
                errors = sorted(jsonschema.Draft202012Validator(request_schema).iter_errors(body),
                                key=lambda e: list(e.path))
                if errors:
                    details = [schema_problem(e) for e in errors]
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
        operation = Operation(rule, method, guarded, summary, tag, roles, public, scope,
                              request_schema, response_schema, status, query, errors,
                              form_schema, content_type)
        OPERATIONS.append(operation)
        if public:
            PUBLIC_ENDPOINTS.add(f"{bp.name}.{view.__name__}")
        return guarded

    return decorator


@bp.before_request
def authenticate_bearer():
    """Take the user from ``Authorization: Bearer …``; the session cookie is never used here."""
    from app.services.accounts import user_for_token

    g.api_user = None
    g.api_token = None
    header = request.headers.get("Authorization", "")
    if not header or request.endpoint in PUBLIC_ENDPOINTS:
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
        params = [{"name": name, "in": "path", "required": True, "schema": schema}
                  for name, schema in op.path.items()]
        for name, schema in op.query.items():
            params.append({"name": name, "in": "query", "required": False, "schema": schema})
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", op.rule)
        responses: dict[str, Any] = {
            str(op.status): {"description": "OK", "content": {
                op.content_type: {"schema": op.response_schema or {"type": "object"}}}},
        }
        for code in op.error_statuses():
            responses[str(code)] = {"description": HTTPStatus(code).phrase, "content": {
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
