"""API endpoints of results and advancement: a stage's results versions and their rows, the
differences between versions, advancement lists, the .xlsx exports, the what-if preview, the
organiser's actions (compute, publish, draw up a list), and a contestant's own published results.

Who sees what, as on the pages: organisers everything; chief judges, judges and arbitrators only
published versions (a superseded one was published once) and lists under notice or final;
contestants only their own published results (/me/results). An unpublished version or list is
"not found" for whoever may not see it. Names and enterprises stand next to scores only once
every judged component of the stage is decrypted (results.names_revealed)."""
from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from flask import jsonify, request
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from sqlalchemy.orm import joinedload

from app.api import PAGE, endpoint, json_body
from app.api.contests import DECIMAL_IN, STAGE_PATH, NotFound
from app.api.contests import _stage as stage_by_keys
from app.downloads import send_download
from app.errors import api_error
from app.extensions import db
from app.inputs import parse_id
from app.models import (
    AdvancementList,
    Contestant,
    Entry,
    ListStatus,
    ResultsVersion,
    Role,
    Stage,
    StageEntry,
    VersionStatus,
)
from app.security import acting_user
from app.services import audit, results, whatif

READERS = (Role.ORGANISER, Role.CHIEF_JUDGE, Role.JUDGE, Role.ARBITRATOR)
WRITERS = (Role.ORGANISER,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PUBLISHED = (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED)
PUBLIC_LISTS = (ListStatus.NOTICE, ListStatus.FINAL)
PER_PAGE, MAX_PER_PAGE = 100, 1000

# ---------------------------------------------------------------------------------------------
# Schemas

DECIMAL = {"type": ["string", "null"], "description": "exact decimal, at the stage's decimals"}
TEXT = {"type": ["string", "null"]}
INT = {"type": ["integer", "null"]}
MOMENT = {"type": ["string", "null"], "format": "date-time"}

STAGE_BRIEF = {
    "type": "object", "required": ["contest", "track", "seq", "name", "names_revealed"],
    "properties": {"contest": {"type": "string"}, "track": {"type": "string"},
                   "seq": {"type": "integer"}, "name": {"type": "string"},
                   "names_revealed": {"type": "boolean",
                                      "description": "names and enterprises are shown"}},
}

VERSION_BRIEF = {
    "type": "object",
    "required": ["id", "number", "status", "reason", "previous_id", "fingerprint", "created_at",
                 "published_at", "settings"],
    "properties": {
        "id": {"type": "integer"}, "number": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in VersionStatus]},
        "reason": TEXT, "previous_id": INT,
        "fingerprint": {"type": "string", "description": "SHA-256 of the inputs"},
        "created_at": MOMENT, "published_at": MOMENT,
        "settings": {"type": "object", "description": "the rules the version was computed with"},
    },
}

PERSON = {
    "exam_number": {**TEXT, "description": "null until names are revealed"},
    "workstation": TEXT,
    "name": {**TEXT, "description": "null until names are revealed"},
    "enterprise": {**TEXT, "description": "null until names are revealed"},
}

ROW_SCHEMA = {
    "type": "object",
    "required": ["entry_id", "rank", "total", "tie_break", "status", "eligible", "reason",
                 "award", "components", *PERSON],
    "properties": {
        "entry_id": {"type": "integer", "description": "the contestant's place in the stage"},
        **PERSON, "rank": INT, "total": DECIMAL,
        "tie_break": {**TEXT, "description": "what separated it from the entry above"},
        "status": {"type": "string"}, "eligible": {"type": "boolean"}, "reason": TEXT,
        "award": TEXT,
        "components": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "points", "percent"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                           "points": DECIMAL, "percent": DECIMAL}}},
    },
}

VERSION_SCHEMA = {
    "type": "object", "required": ["stage", "version", "page", "pages", "total", "rows"],
    "properties": {"stage": STAGE_BRIEF, "version": VERSION_BRIEF,
                   "page": {"type": "integer"}, "pages": {"type": "integer"},
                   "total": {"type": "integer"},
                   "rows": {"type": "array", "items": ROW_SCHEMA}},
}

VALUE = {"type": ["string", "integer", "null"]}

DIFFERENCES_SCHEMA = {
    "type": "object", "required": ["version", "previous", "differences"],
    "properties": {
        "version": VERSION_BRIEF,
        "previous": {"oneOf": [VERSION_BRIEF, {"type": "null"}]},
        "differences": {"type": "array", "items": {
            "type": "object", "required": ["entry_id", "field", "before", "after"],
            "properties": {"entry_id": {"type": "integer"},
                           "field": {"type": "string",
                                     "description": "total, rank, status, award, "
                                                    "<component>_points or _percent"},
                           "before": VALUE, "after": VALUE}}},
    },
}

LIST_BRIEF = {
    "type": "object",
    "required": ["id", "version_id", "status", "quota", "per_enterprise_cap",
                 "cutoff_tie_policy", "cutoff_note", "notice_starts_at", "notice_ends_at",
                 "finalised_at", "advancing"],
    "properties": {
        "id": {"type": "integer"}, "version_id": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in ListStatus]},
        "quota": {"type": "integer"}, "per_enterprise_cap": INT,
        "cutoff_tie_policy": {"type": "string"}, "cutoff_note": TEXT,
        "notice_starts_at": MOMENT, "notice_ends_at": MOMENT, "finalised_at": MOMENT,
        "advancing": {"type": "integer"},
    },
}

LIST_SCHEMA = {
    "type": "object", "required": ["stage", "list", "entries"],
    "properties": {
        "stage": STAGE_BRIEF, "list": LIST_BRIEF,
        "entries": {"type": "array", "items": {
            "type": "object",
            "required": ["position", "entry_id", "rank", "status", "reason", "replaces_entry_id",
                         "removed_at", *PERSON],
            "properties": {
                "position": {"type": "integer"}, "entry_id": {"type": "integer"},
                **PERSON, "rank": INT,
                "status": {"type": "string",
                           "enum": ["advancing", "removed", "skipped_for_cap", "reserve"]},
                "reason": TEXT,
                "replaces_entry_id": {**INT, "description": "递补: whose place it took"},
                "removed_at": MOMENT}}},
    },
}

SETTINGS_SCHEMA = {
    "type": "object",
    "required": ["weights", "quota", "per_enterprise_cap", "cutoff_tie_policy"],
    "properties": {"weights": {"type": "object", "additionalProperties": {"type": "string"}},
                   "quota": INT, "per_enterprise_cap": INT,
                   "cutoff_tie_policy": {"type": "string", "enum": ["break", "include_all"]}},
}

STANDING = {"type": ["string", "null"],
            "enum": [whatif.ADVANCING, whatif.SKIPPED_FOR_CAP, whatif.RESERVE,
                     whatif.NOT_ELIGIBLE, None],
            "description": "null: no quota, so no list"}

WHATIF_SCHEMA = {
    "type": "object",
    "required": ["current", "proposed", "changed_settings", "entries", "moved_up", "moved_down",
                 "newly_in", "newly_out", "advancing_before", "advancing_after", "note_before",
                 "note_after", "changes"],
    "properties": {
        "current": SETTINGS_SCHEMA, "proposed": SETTINGS_SCHEMA,
        "changed_settings": {"type": "array", "items": {"type": "string"}},
        "entries": {"type": "integer"}, "moved_up": {"type": "integer"},
        "moved_down": {"type": "integer"}, "newly_in": {"type": "integer"},
        "newly_out": {"type": "integer"}, "advancing_before": INT, "advancing_after": INT,
        "note_before": {**TEXT, "description": "the cut-off under the current settings"},
        "note_after": {**TEXT, "description": "the cut-off under the proposed settings"},
        "changes": {"type": "array", "items": {
            "type": "object",
            "required": ["entry_id", "rank_before", "rank_after", "total_before", "total_after",
                         "standing_before", "standing_after", "moved", "advancement", *PERSON],
            "properties": {
                "entry_id": {"type": "integer"}, **PERSON,
                "rank_before": INT, "rank_after": INT,
                "total_before": DECIMAL, "total_after": DECIMAL,
                "standing_before": STANDING, "standing_after": STANDING,
                "moved": {"type": ["string", "null"], "enum": ["up", "down", None]},
                "advancement": {"type": ["string", "null"], "enum": ["in", "out", None]}}}},
    },
}

WHATIF_REQUEST = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "weights": {"type": "object", "additionalProperties": DECIMAL_IN,
                    "description": "percent by component code; the others keep theirs"},
        "quota": INT, "per_enterprise_cap": INT,
        "cutoff_tie_policy": {"type": "string", "enum": ["break", "include_all"]},
    },
}

MY_RESULTS_SCHEMA = {
    "type": "object", "required": ["results"],
    "properties": {"results": {"type": "array", "items": {
        "type": "object",
        "required": ["entry_id", "contest", "track", "stage", "version", "published_at", "rank",
                     "of", "total", "status", "award", "components", "advancement"],
        "properties": {
            "entry_id": {"type": "integer", "description": "the registration"},
            "contest": {"type": "string"}, "track": {"type": "string"},
            "stage": {"type": "object", "required": ["seq", "name"],
                      "properties": {"seq": {"type": "integer"}, "name": {"type": "string"}}},
            "version": {"type": "integer"}, "published_at": MOMENT,
            "rank": INT, "of": {"type": "integer", "description": "contestants ranked with"},
            "total": DECIMAL, "status": {"type": "string"}, "award": TEXT,
            "components": ROW_SCHEMA["properties"]["components"],
            "advancement": {**TEXT, "description": "on a list under notice or final: advancing, "
                                                   "removed, skipped_for_cap or reserve"}}}}},
}

FILE_SCHEMA = {"type": "string", "contentMediaType": XLSX}

# ---------------------------------------------------------------------------------------------
# Look-ups and answers


def _is_organiser() -> bool:
    return acting_user().role == Role.ORGANISER


def _version(version_id: int) -> ResultsVersion:
    version = db.session.get(ResultsVersion, version_id)
    if version is None or (version.status not in PUBLISHED and not _is_organiser()):
        raise NotFound(_("No such results version."))
    return version


def _listing(list_id: int) -> AdvancementList:
    listing = db.session.get(AdvancementList, list_id)
    if listing is None or (listing.status not in PUBLIC_LISTS and not _is_organiser()):
        raise NotFound(_("No such advancement list."))
    return listing


def _moment(value) -> str | None:
    return to_user_timezone(value).isoformat() if value else None


def _value(value, decimals: int) -> Any:
    """A table value as JSON: exact decimals as text at the stage's decimals (as published),
    numpy and pandas scalars as Python, missing values as null."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal(1).scaleb(-decimals)))
    if hasattr(value, "item"):
        return value.item()
    return value


def stage_brief(stage: Stage) -> dict:
    return {"contest": stage.track.contest.code, "track": stage.track.code, "seq": stage.seq,
            "name": stage.name, "names_revealed": results.names_revealed(stage)}


def version_brief(version: ResultsVersion) -> dict:
    return {"id": version.id, "number": version.number, "status": version.status.value,
            "reason": version.reason, "previous_id": version.previous_id,
            "fingerprint": version.fingerprint, "created_at": _moment(version.created_at),
            "published_at": _moment(version.published_at), "settings": version.settings}


def list_brief(listing: AdvancementList) -> dict:
    return {"id": listing.id, "version_id": listing.version_id, "status": listing.status.value,
            "quota": listing.quota, "per_enterprise_cap": listing.per_enterprise_cap,
            "cutoff_tie_policy": listing.cutoff_tie_policy, "cutoff_note": listing.cutoff_note,
            "notice_starts_at": _moment(listing.notice_starts_at),
            "notice_ends_at": _moment(listing.notice_ends_at),
            "finalised_at": _moment(listing.finalised_at),
            "advancing": len(results.advancers(listing))}


def people(stage: Stage, place_ids: list[int]) -> dict[int, dict]:
    """Stage entry id → exam number, workstation, name and enterprise (the first, third and
    fourth only once names are revealed)."""
    reveal = results.names_revealed(stage)
    places = db.session.scalars(
        sa.select(StageEntry).where(StageEntry.id.in_(place_ids))
        .options(joinedload(StageEntry.entry).joinedload(Entry.contestant),
                 joinedload(StageEntry.entry).joinedload(Entry.enterprise)))
    return {p.id: {"exam_number": p.entry.exam_number if reveal else None,
                   "workstation": p.workstation_number,
                   "name": p.entry.contestant.name if reveal else None,
                   "enterprise": p.entry.enterprise.name if reveal else None}
            for p in places}


def _run(call):
    """Call a view body, turning a look-up that found nothing into a 404 and a bad query into a
    400. A service's refusal propagates to the one handler (app/errors.py)."""
    try:
        return call()
    except NotFound as missing:
        return api_error(404, "not_found", missing.message)
    except BadQuery as bad:
        return api_error(400, "bad_query", bad.message)


def _send(path: Path, download_name: str, fallback: str):
    return send_download(path, download_name, fallback=fallback, delete=True)


class BadQuery(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _positive(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    value = parse_id(raw) or 0
    if not 1 <= value <= maximum:
        raise BadQuery(_("%(name)s must be a whole number from 1 to %(max)s.", name=name,
                         max=maximum))
    return value


# ---------------------------------------------------------------------------------------------
# Results versions


@endpoint(STAGE_PATH + "/results", summary="A stage's results versions, newest first "
          "(organisers also see drafts)", tag="results", roles=READERS,
          response_schema={"type": "object", "required": ["stage", "versions"],
                           "properties": {"stage": STAGE_BRIEF,
                                          "versions": {"type": "array", "items": VERSION_BRIEF}}})
def list_results_versions(code: str, track: str, seq: int):
    def run():
        stage = stage_by_keys(code, track, seq)
        query = sa.select(ResultsVersion).where(ResultsVersion.stage_id == stage.id)
        if not _is_organiser():
            query = query.where(ResultsVersion.status.in_(PUBLISHED))
        versions = db.session.scalars(query.order_by(ResultsVersion.number.desc()))
        return jsonify(stage=stage_brief(stage), versions=[version_brief(v) for v in versions])
    return _run(run)


@endpoint(STAGE_PATH + "/results", method="POST", summary="Compute the stage's results as a "
          "new draft version (every judged component signed off, every imported one imported)",
          tag="results", roles=WRITERS, status=201, errors=(409,),
          request_schema={"type": "object", "additionalProperties": False,
                          "properties": {"reason": {"type": "string", "maxLength": 1000}}},
          response_schema=VERSION_BRIEF)
def compute_results_version(code: str, track: str, seq: int):
    def run():
        stage = stage_by_keys(code, track, seq)
        version = results.create_version(stage, actor=acting_user(),
                                         reason=json_body().get("reason"))
        return jsonify(version_brief(version)), 201
    return _run(run)


@endpoint("/results/<int:version_id>", summary="One results version with its rows in rank "
          "order, paginated: each component's points and percentage, total, rank, tie-break, "
          "status", tag="results", roles=READERS, response_schema=VERSION_SCHEMA,
          query={"page": PAGE,
                 "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}},
          errors=(400,))
def get_results_version(version_id: int):
    def run():
        version = _version(version_id)
        page = _positive("page", 1, PAGE["maximum"])
        per_page = _positive("per_page", PER_PAGE, MAX_PER_PAGE)
        rows, total = results.version_page(version, page, per_page)
        who = people(version.stage, [int(i) for i in rows["entry_id"]])
        components = version.settings["components"]
        d = int(version.settings["decimals"])
        out = []
        for _index, row in rows.iterrows():
            entry_id = int(row["entry_id"])
            out.append({
                "entry_id": entry_id, **who[entry_id], "rank": _value(row["rank"], d),
                "total": _value(row["total"], d), "tie_break": _value(row["tie_break"], d),
                "status": row["status"], "eligible": bool(row["eligible"]),
                "reason": _value(row["reason"], d), "award": _value(row["award"], d),
                "components": [{"code": c["code"], "name": c["name"],
                                "points": _value(row[f"{c['code']}_points"], d),
                                "percent": _value(row[f"{c['code']}_percent"], d)}
                               for c in components]})
        return jsonify(stage=stage_brief(version.stage), version=version_brief(version),
                       page=page, pages=max(1, -(-total // per_page)), total=total, rows=out)
    return _run(run)


@endpoint("/results/<int:version_id>/differences", summary="What changed from the previous "
          "published version, line by line (empty for a first version)", tag="results",
          roles=READERS, response_schema=DIFFERENCES_SCHEMA)
def results_version_differences(version_id: int):
    def run():
        version = _version(version_id)
        previous = db.session.get(ResultsVersion, version.previous_id) \
            if version.previous_id else None
        changes = results.differences(version, previous) if previous else []
        d = int(version.settings["decimals"])
        return jsonify(version=version_brief(version),
                       previous=version_brief(previous) if previous else None,
                       differences=[{"entry_id": c.entry_id, "field": c.field,
                                     "before": _value(c.before, d), "after": _value(c.after, d)}
                                    for c in changes])
    return _run(run)


@endpoint("/results/<int:version_id>/export", summary="The version as an .xlsx sheet (names "
          "only once revealed)", tag="results", roles=WRITERS, response_schema=FILE_SCHEMA,
          content_type=XLSX)
def export_results_version(version_id: int):
    from app.services.exports import EXPORTERS

    def run():
        version = _version(version_id)
        reveal = results.names_revealed(version.stage)
        path = EXPORTERS["results"](version, reveal_names=reveal)
        if reveal:  # names next to scores: who took them away is recorded, as in the console
            user = acting_user()
            audit.record("results.export", version, f"{user.username} 通过接口导出含姓名的成绩："
                         f"{version.stage.track.name}·{version.stage.name} 第{version.number}版",
                         actor=user, stage_id=version.stage_id)
        return _send(path, f"{version.stage.track.name}{version.stage.name}成绩第{version.number}版.xlsx",
                     f"results-v{version.number}.xlsx")
    return _run(run)


@endpoint("/results/<int:version_id>/publish", method="POST", summary="Publish a draft version "
          "(after its re-check); the one published before is superseded", tag="results",
          roles=WRITERS, errors=(409,), response_schema=VERSION_BRIEF)
def publish_results_version(version_id: int):
    def run():
        version = _version(version_id)
        results.publish(version, actor=acting_user())
        return jsonify(version_brief(version))
    return _run(run)


@endpoint("/results/<int:version_id>/advancement-list", method="POST", summary="Draw up the "
          "advancement list of a published version with the stage's quota, per-enterprise cap "
          "and cut-off tie policy", tag="advancement", roles=WRITERS, status=201, errors=(409,),
          response_schema=LIST_SCHEMA)
def generate_advancement_list(version_id: int):
    def run():
        version = _version(version_id)
        listing = results.generate_list(version, actor=acting_user())
        return jsonify(list_json(listing)), 201
    return _run(run)


# ---------------------------------------------------------------------------------------------
# Advancement lists


def list_json(listing: AdvancementList) -> dict:
    entries = list(listing.entries)
    who = people(listing.stage, [e.stage_entry_id for e in entries])
    place_of = {e.id: e.stage_entry_id for e in entries}
    return {"stage": stage_brief(listing.stage), "list": list_brief(listing),
            "entries": [{"position": e.position, "entry_id": e.stage_entry_id,
                         **who[e.stage_entry_id], "rank": e.rank, "status": e.status.value,
                         "reason": e.reason, "replaces_entry_id": place_of.get(e.replaces_id),
                         "removed_at": _moment(e.removed_at)} for e in entries]}


@endpoint(STAGE_PATH + "/advancement-lists", summary="A stage's advancement lists, newest first "
          "(organisers also see drafts and withdrawn lists)", tag="advancement", roles=READERS,
          response_schema={"type": "object", "required": ["stage", "lists"],
                           "properties": {"stage": STAGE_BRIEF,
                                          "lists": {"type": "array", "items": LIST_BRIEF}}})
def list_advancement_lists(code: str, track: str, seq: int):
    def run():
        stage = stage_by_keys(code, track, seq)
        query = sa.select(AdvancementList).where(AdvancementList.stage_id == stage.id)
        if not _is_organiser():
            query = query.where(AdvancementList.status.in_(PUBLIC_LISTS))
        lists = db.session.scalars(query.order_by(AdvancementList.id.desc()))
        return jsonify(stage=stage_brief(stage), lists=[list_brief(x) for x in lists])
    return _run(run)


@endpoint("/advancement-lists/<int:list_id>", summary="One advancement list with every entry: "
          "advancing, skipped for the cap (with the reason), reserve, removed after an "
          "objection, and who replaced whom (递补)", tag="advancement", roles=READERS,
          response_schema=LIST_SCHEMA)
def get_advancement_list(list_id: int):
    return _run(lambda: jsonify(list_json(_listing(list_id))))


@endpoint("/advancement-lists/<int:list_id>/export", summary="The list as unions publish it "
          "(公示名单, .xlsx, never an ID number); audited", tag="advancement", roles=WRITERS,
          response_schema=FILE_SCHEMA, content_type=XLSX)
def export_advancement_list(list_id: int):
    from app.services.exports import EXPORTERS

    def run():
        listing = _listing(list_id)
        path = EXPORTERS["advancement"](listing, actor=acting_user())
        return _send(path, f"{listing.stage.track.name}{listing.stage.name}晋级名单.xlsx",
                     f"advancement-list-{listing.id}.xlsx")
    return _run(run)


# ---------------------------------------------------------------------------------------------
# What-if preview


@endpoint(STAGE_PATH + "/results/what-if", method="POST", summary="What-if preview: whose rank "
          "and whose place would change under other weights, quota, per-enterprise cap or "
          "cut-off tie policy (fields not sent keep the stage's value); nothing is stored. To "
          "apply, PATCH the stage and PUT its weights", tag="results", roles=WRITERS,
          errors=(409,), request_schema=WHATIF_REQUEST, response_schema=WHATIF_SCHEMA)
def whatif_preview(code: str, track: str, seq: int):
    def run():
        stage = stage_by_keys(code, track, seq)
        body = json_body()
        values = {name: body[name] for name in ("quota", "per_enterprise_cap",
                                                "cutoff_tie_policy") if name in body}
        preview = whatif.preview(stage, weights=body.get("weights"), **values)
        answer = preview.as_json()
        who = people(stage, [c.entry_id for c in preview.changes])
        for change in answer["changes"]:
            change.update(who[change["entry_id"]])
        return jsonify(answer)
    return _run(run)


# ---------------------------------------------------------------------------------------------
# A contestant's own results


@endpoint("/me/results", summary="The caller's own published results (a contestant's): per stage "
          "the latest published version's row and the advancement status; nothing unpublished",
          tag="results", response_schema=MY_RESULTS_SCHEMA)
def my_results():
    """Only the caller's own entries as a contestant: an organiser or a judge has none."""
    out = []
    own = sa.select(Entry).join(Contestant).where(Contestant.user_id == acting_user().id)
    for entry in db.session.scalars(own.order_by(Entry.id)):
        for item in results.published_results_for(entry):
            stage, row, version = item["stage"], item["row"], item["version"]
            names = {c["code"]: c["name"] for c in version.settings["components"]}
            codes = {c.id: c.code for c in stage.components}
            d = int(version.settings["decimals"])
            out.append({
                "entry_id": entry.id, "contest": entry.contest.code, "track": entry.track.code,
                "stage": {"seq": stage.seq, "name": stage.name}, "version": version.number,
                "published_at": _moment(version.published_at), "rank": row.rank,
                "of": item["of"], "total": _value(row.total, d), "status": row.status,
                "award": row.award,
                "components": [{"code": codes.get(c.component_id, ""),
                                "name": names.get(codes.get(c.component_id), ""),
                                "points": _value(c.points, d), "percent": _value(c.percent, d)}
                               for c in row.components],
                "advancement": item["standing"].value if item["standing"] else None})
    return jsonify(results=out)
