"""API: theory and simulator results files uploaded into a component, and the push endpoint a
simulator sends its results to with a token limited to that component; one import pipeline."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from app.api import endpoint, json_body
from app.api.imports import IMPORT_REPORT_SCHEMA
from app.errors import api_error
from app.extensions import db
from app.models import Component, Role
from app.security import acting_user
from app.services import imports
from app.services.result_import import (
    component_by_codes,
    import_results,
    needs_confirmation,
    push_scope,
    push_upload,
    result_importer,
)

CHANGE_SCHEMA = {
    "type": "object",
    "required": ["row", "exam_number", "workstation", "old_points", "new_points",
                 "old_time_used_seconds", "new_time_used_seconds"],
    "properties": {
        "row": {"type": "integer", "description": "the row (a JSON object's place) in the file"},
        "exam_number": {"type": ["string", "null"]},
        "workstation": {"type": ["string", "null"]},
        "old_points": {"type": ["string", "null"], "description": "exact decimal"},
        "new_points": {"type": "string", "description": "exact decimal"},
        "old_time_used_seconds": {"type": ["integer", "null"]},
        "new_time_used_seconds": {"type": ["integer", "null"]},
    },
}

RESULTS_REPORT_SCHEMA = {
    "type": "object",
    "required": [*IMPORT_REPORT_SCHEMA["required"], "new", "changed", "unchanged", "changes",
                 "confirmation_required"],
    "properties": {
        **IMPORT_REPORT_SCHEMA["properties"],
        "imported": {"type": "integer", "description": "rows written by this call: all of them "
                                                       "or none (a results file is imported "
                                                       "only when every row is right)"},
        "already_imported": {"type": "boolean",
                             "description": "this very file (or push) was imported into this "
                                            "component before; nothing was added"},
        "new": {"type": "integer", "description": "contestants without a score before"},
        "changed": {"type": "integer",
                    "description": "contestants whose stored score or time would change"},
        "unchanged": {"type": "integer"},
        "changes": {"type": "array", "items": CHANGE_SCHEMA},
        "confirmation_required": {
            "type": "boolean",
            "description": "the file would change stored scores and confirm_changes was not "
                           "given: it was only checked, nothing was imported"},
    },
}

UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "the results file: .xlsx, .xls, .csv or .json (a list of "
                                "objects)"},
        "dry_run": {"type": "string", "enum": ["true", "false", "1", "0"],
                    "description": "check and report only (default false)"},
        "confirm_changes": {"type": "string", "enum": ["true", "false", "1", "0"],
                            "description": "replace scores contestants already have "
                                           "(default false: such a file is only checked)"},
    },
}

PUSH_ITEM_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["points"],
    "anyOf": [{"required": ["exam_number"]}, {"required": ["workstation"]}],
    "properties": {
        "exam_number": {"type": ["string", "integer"], "description": "准考证号"},
        "workstation": {"type": ["string", "integer"], "description": "赛位号"},
        "points": {"type": ["number", "string"],
                   "description": "the total score, 0 to the component's maximum, at most the "
                                  "stage's decimals; a string keeps it exact"},
        "time_used_seconds": {"type": ["integer", "string", "null"],
                              "description": "whole seconds (or mm:ss)"},
        "details": {"type": "object",
                    "description": "per-step / per-module scores and anything else to keep"},
    },
}

PUSH_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["results"],
    "properties": {
        "results": {"type": "array", "minItems": 1, "maxItems": 20000,
                    "items": PUSH_ITEM_SCHEMA},
        "confirm_changes": {"type": "boolean",
                            "description": "replace scores contestants already have (default "
                                           "false: answered 409 with the changes)"},
        "dry_run": {"type": "boolean", "description": "check and report only"},
    },
}

_TRUE = {"1", "true", "yes", "on"}


def _report(outcome, dry_run: bool) -> dict:
    report = outcome.report
    extra = report.extra
    return {**report.summary(), "dry_run": dry_run, "already_imported": outcome.already_imported,
            "batch_id": outcome.batch.id, "notices": report.notices,
            "new": extra.get("new", 0), "changed": extra.get("changed", 0),
            "unchanged": extra.get("unchanged", 0), "changes": extra.get("changes", []),
            "confirmation_required": needs_confirmation(outcome)}


@endpoint("/contests/<code>/tracks/<track>/stages/<int:seq>/components/<component>/results/"
          "import", method="POST",
          summary="Import a theory or simulator results file into an imported component "
          "(organisers): matched by exam number (or workstation number for a digital twin); "
          "nothing is imported unless every row is right; a file that would change stored "
          "scores is only checked unless confirm_changes is true", tag="results",
          roles=(Role.ORGANISER,), form_schema=UPLOAD_SCHEMA,
          response_schema=RESULTS_REPORT_SCHEMA)
def import_component_results(code: str, track: str, seq: int, component: str):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return api_error(400, "no_file", _("Send the sheet as the multipart field \"file\"."))
    dry_run = (request.form.get("dry_run") or "").strip().lower() in _TRUE
    confirm = (request.form.get("confirm_changes") or "").strip().lower() in _TRUE
    target = component_by_codes(code, track, seq, component)
    actor = acting_user()
    outcome = import_results(result_importer(target, actor, confirm_changes=confirm),
                             imports.Upload(upload.filename, upload.read()),
                             dry_run=dry_run, actor=actor)
    return jsonify(_report(outcome, dry_run))


@endpoint("/components/<int:component_id>/results", method="POST",
          summary="A simulator pushes its results for one component: the same checks and "
          "provenance as a file (named \"push\", SHA-256 of the canonical JSON); the same push "
          "twice adds nothing. Needs a token whose scope is exactly component:<id>:push, or an "
          "organiser's unscoped token. Any bad row: 422 and nothing imported; scores that would "
          "change without confirm_changes: 409 with the changes", tag="results",
          scope="component", request_schema=PUSH_SCHEMA, response_schema=RESULTS_REPORT_SCHEMA,
          errors=(409,))
def push_results(component_id: int):
    target = db.session.get(Component, component_id)
    token = g.get("api_token")
    user = acting_user()
    if target is None:
        return api_error(404, "not_found", _("No such component."))
    allowed = token.scope == push_scope(target) if token is not None and token.scope \
        else user.role == Role.ORGANISER
    if not allowed:
        return api_error(403, "token_scope", _(
            "This token may not push results for this component; it needs the scope "
            "%(scope)s.", scope=push_scope(target)))
    body = json_body()
    dry_run = bool(body.get("dry_run"))
    importer = result_importer(target, user, confirm_changes=bool(body.get("confirm_changes")))
    outcome = import_results(importer, push_upload(body["results"]), dry_run=dry_run, actor=user)
    answer = _report(outcome, dry_run)
    if outcome.report.errors:
        return api_error(422, "invalid_rows", _(
            "%(n)d results are wrong; nothing was imported.", n=len(
                {e.row for e in outcome.report.errors})), details=answer["errors"])
    if answer["confirmation_required"]:
        return api_error(409, "confirmation_required", _(
            "%(n)d contestants already have a different score; send the results again with "
            "\"confirm_changes\": true to replace them.", n=answer["changed"]),
            details=answer["changes"])
    return jsonify(answer)
