"""API: registration sheets uploaded and imported through the one import pipeline."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from app.api import endpoint
from app.errors import api_error
from app.models import Role
from app.security import acting_user
from app.services import imports
from app.services.registration_import import RegistrationImporter, track_by_codes

IMPORT_REPORT_SCHEMA = {
    "type": "object",
    "required": ["rows", "valid", "imported", "errors", "dry_run", "already_imported",
                 "batch_id", "notices"],
    "properties": {
        "rows": {"type": "integer", "description": "data rows read (title, totals, notes "
                                                   "and blank rows are not counted)"},
        "valid": {"type": "integer", "description": "rows without any error"},
        "imported": {"type": "integer", "description": "rows written by this call"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["row", "column", "reason"],
            "properties": {"row": {"type": "integer",
                                   "description": "the row number Excel shows"},
                           "column": {"type": "string",
                                      "description": "the column's header in the sheet"},
                           "reason": {"type": "string"}}}},
        "dry_run": {"type": "boolean"},
        "already_imported": {"type": "boolean",
                             "description": "this very file was imported into this track "
                                            "before; nothing was added"},
        "batch_id": {"type": "integer"},
        "notices": {"type": "array", "items": {"type": "string"}},
    },
}

UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "the sheet: .xlsx, .xls or .csv"},
        "dry_run": {"type": "string", "enum": ["true", "false", "1", "0"],
                    "description": "check and report only (default false)"},
    },
}

_TRUE = {"1", "true", "yes", "on"}


@endpoint("/contests/<code>/tracks/<track_code>/registrations/import", method="POST",
          summary="Import a registration sheet into a track (organisers); the good rows become "
          "endorsed entries, every bad row is reported by its Excel row number, column and "
          "reason", tag="registrations", roles=(Role.ORGANISER,), form_schema=UPLOAD_SCHEMA,
          response_schema=IMPORT_REPORT_SCHEMA)
def import_registrations(code: str, track_code: str):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return api_error(400, "no_file", _("Send the sheet as the multipart field \"file\"."))
    dry_run = (request.form.get("dry_run") or "").strip().lower() in _TRUE
    track = track_by_codes(track_code, code)
    actor = acting_user()
    outcome = imports.run(RegistrationImporter(track, actor),
                          imports.Upload(upload.filename, upload.read()), dry_run=dry_run,
                          actor=actor)
    report = outcome.report
    return jsonify({**report.summary(), "dry_run": dry_run,
                    "already_imported": outcome.already_imported,
                    "batch_id": outcome.batch.id, "notices": report.notices})
