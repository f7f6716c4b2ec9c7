"""API endpoints of appeals (申诉), as the pages have them: a contestant's own appeals and appeal
windows, and filing one on a component within its window (/me/appeals); the supervision and
arbitration group's (监督仲裁组) view of a stage's appeals and its ruling, with its reason.

Who may do what, as on the pages: a contestant sees and files only on their own entries (an
entry of anyone else is "not found"); arbitrators and organisers read a stage's appeals; only an
arbitrator rules. An appeal names the contestant by exam number and workstation; the name and
enterprise only once every judged component of the stage is decrypted (results.names_revealed)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from app.api import ID, endpoint, json_body
from app.api.contests import STAGE_PATH, NotFound
from app.api.contests import _stage as stage_by_keys
from app.api.results import (
    DECIMAL,
    MOMENT,
    STAGE_BRIEF,
    TEXT,
    BadQuery,
    _moment,
    _run,
    _value,
    stage_brief,
)
from app.extensions import db
from app.models import (
    Appeal,
    Component,
    ComponentScore,
    Contestant,
    Entry,
    Role,
    RulingStatus,
    Stage,
    StageEntry,
)
from app.security import acting_user
from app.services import FieldErrors, appeals, results

VIEWERS = (Role.ARBITRATOR, Role.ORGANISER)
FILTERS = ("open", "upheld", "dismissed", "all")
STATUS = {"type": "string", "enum": [s.value for s in RulingStatus],
          "description": "open: waiting for the ruling; upheld: a correction is required; "
                         "dismissed"}
COMPONENT_BRIEF = {"type": "object", "required": ["code", "name"],
                   "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
STAGE_SHORT = {"type": "object", "required": ["seq", "name"],
               "properties": {"seq": {"type": "integer"}, "name": {"type": "string"}}}

# ---------------------------------------------------------------------------------------------
# Schemas

WINDOW_SCHEMA = {
    "type": "object",
    "required": ["entry_id", "contest", "track", "stage", "component", "opens_at", "closes_at",
                 "state"],
    "properties": {
        "entry_id": {"type": "integer", "description": "the registration"},
        "contest": {"type": "string"}, "track": {"type": "string"}, "stage": STAGE_SHORT,
        "component": COMPONENT_BRIEF,
        "opens_at": {**MOMENT, "description": "when the component ends for the contestant "
                                              "(its end time, else the end of the sitting)"},
        "closes_at": {**MOMENT, "description": "the stage's appeal window later"},
        "state": {"type": "string", "enum": [s.value for s in appeals.WindowState],
                  "description": "unset: the end time is not known yet"},
    },
}

MY_APPEAL_SCHEMA = {
    "type": "object",
    "required": ["id", "entry_id", "contest", "track", "stage", "component", "filed_at", "text",
                 "status", "ruling", "ruled_at", "correction_carried"],
    "properties": {
        "id": {"type": "integer"}, "entry_id": {"type": "integer"},
        "contest": {"type": "string"}, "track": {"type": "string"}, "stage": STAGE_SHORT,
        "component": COMPONENT_BRIEF, "filed_at": MOMENT, "text": {"type": "string"},
        "status": STATUS, "ruling": {**TEXT, "description": "the ruling's reason"},
        "ruled_at": MOMENT,
        "correction_carried": {"type": "boolean",
                               "description": "an upheld appeal's correction is in a new results "
                                              "version (shown once that version is published)"},
    },
}

MY_APPEALS_SCHEMA = {
    "type": "object", "required": ["windows", "appeals"],
    "properties": {"windows": {"type": "array", "items": WINDOW_SCHEMA},
                   "appeals": {"type": "array", "items": MY_APPEAL_SCHEMA}},
}

APPEAL_SCHEMA = {
    "type": "object",
    "required": ["id", "entry_id", "exam_number", "workstation", "name", "enterprise",
                 "component", "stored_points", "filed_at", "text", "status", "ruling",
                 "ruled_at", "resulting_version_id"],
    "properties": {
        "id": {"type": "integer"},
        "entry_id": {"type": "integer", "description": "the contestant's place in the stage"},
        "exam_number": TEXT, "workstation": TEXT,
        "name": {**TEXT, "description": "null until names are revealed"},
        "enterprise": {**TEXT, "description": "null until names are revealed"},
        "component": COMPONENT_BRIEF,
        "stored_points": {**DECIMAL, "description": "the component's points stored now"},
        "filed_at": MOMENT, "text": {"type": "string"}, "status": STATUS,
        "ruling": TEXT, "ruled_at": MOMENT,
        "resulting_version_id": {"type": ["integer", "null"],
                                 "description": "the results version carrying an upheld "
                                                "appeal's correction"},
    },
}

STAGE_APPEALS_SCHEMA = {
    "type": "object", "required": ["stage", "status", "appeals"],
    "properties": {"stage": STAGE_BRIEF, "status": {"type": "string", "enum": list(FILTERS)},
                   "appeals": {"type": "array", "items": APPEAL_SCHEMA}},
}

OVERVIEW_SCHEMA = {
    "type": "object", "required": ["stages"],
    "properties": {"stages": {"type": "array", "items": {
        "type": "object",
        "required": ["stage", "open", "upheld", "awaiting_version", "dismissed"],
        "properties": {"stage": STAGE_BRIEF, "open": {"type": "integer"},
                       "upheld": {"type": "integer"},
                       "awaiting_version": {"type": "integer",
                                            "description": "upheld, no version carries the "
                                                           "correction yet"},
                       "dismissed": {"type": "integer"}}}}},
}

FILE_REQUEST = {
    "type": "object", "required": ["entry_id", "stage", "component", "text"],
    "additionalProperties": False,
    "properties": {
        "entry_id": {**ID, "description": "the caller's registration"},
        "stage": {**ID, "description": "the stage's order in the entry's track"},
        "component": {"type": "string", "description": "the component's code"},
        "text": {"type": "string", "description": "what the appeal is about"},
    },
}

RULING_REQUEST = {
    "type": "object", "required": ["decision", "ruling"], "additionalProperties": False,
    "properties": {"decision": {"type": "string", "description": "upheld or dismissed"},
                   "ruling": {"type": "string", "description": "the reason, always"}},
}

# ---------------------------------------------------------------------------------------------
# Answers


def _component_brief(component: Component) -> dict:
    return {"code": component.code, "name": component.name}


def _stage_short(stage: Stage) -> dict:
    return {"seq": stage.seq, "name": stage.name}


def _own_entries() -> list[Entry]:
    return list(db.session.scalars(
        sa.select(Entry).join(Contestant).where(Contestant.user_id == acting_user().id)
        .order_by(Entry.id)))


def my_appeal_json(appeal: Appeal, entry: Entry, stage: Stage, component: Component) -> dict:
    return {"id": appeal.id, "entry_id": entry.id, "contest": entry.contest.code,
            "track": entry.track.code, "stage": _stage_short(stage),
            "component": _component_brief(component), "filed_at": _moment(appeal.filed_at),
            "text": appeal.text, "status": appeal.status.value, "ruling": appeal.ruling,
            "ruled_at": _moment(appeal.ruled_at),
            "correction_carried": appeal.resulting_version_id is not None}


def appeals_json(stage: Stage, listed: list[Appeal]) -> list[dict]:
    """A stage's appeals as the arbitration page shows them."""
    place_ids = {a.stage_entry_id for a in listed}
    places = {p.id: p for p in db.session.scalars(
        sa.select(StageEntry).where(StageEntry.id.in_(place_ids))
        .options(joinedload(StageEntry.entry).joinedload(Entry.contestant),
                 joinedload(StageEntry.entry).joinedload(Entry.enterprise)))} if place_ids else {}
    stored = {(s.stage_entry_id, s.component_id): s.points for s in db.session.scalars(
        sa.select(ComponentScore).where(ComponentScore.stage_entry_id.in_(place_ids)))} \
        if place_ids else {}
    components = {c.id: c for c in stage.components}
    reveal = results.names_revealed(stage)
    out = []
    for appeal in listed:
        place = places[appeal.stage_entry_id]
        out.append({
            "id": appeal.id, "entry_id": place.id, "exam_number": place.entry.exam_number,
            "workstation": place.workstation_number,
            "name": place.entry.contestant.name if reveal else None,
            "enterprise": place.entry.enterprise.name if reveal else None,
            "component": _component_brief(components[appeal.component_id]),
            "stored_points": _value(stored.get((place.id, appeal.component_id)),
                                    int(stage.decimals)),
            "filed_at": _moment(appeal.filed_at), "text": appeal.text,
            "status": appeal.status.value, "ruling": appeal.ruling,
            "ruled_at": _moment(appeal.ruled_at),
            "resulting_version_id": appeal.resulting_version_id})
    return out


# ---------------------------------------------------------------------------------------------
# A contestant's own appeals


@endpoint("/me/appeals", summary="The caller's own appeals and appeal windows (a contestant's): "
          "for each component of each stage they are in, when appeals open and close and "
          "whether they are open now; every appeal filed, with its ruling", tag="appeals",
          response_schema=MY_APPEALS_SCHEMA)
def my_appeals():
    """Only the caller's own entries as a contestant: anyone else has none."""
    windows, mine = [], []
    for entry in _own_entries():
        for option in appeals.options(entry):
            stage = option.place.stage
            windows.append({"entry_id": entry.id, "contest": entry.contest.code,
                            "track": entry.track.code, "stage": _stage_short(stage),
                            "component": _component_brief(option.component),
                            "opens_at": _moment(option.window.opens_at),
                            "closes_at": _moment(option.window.closes_at),
                            "state": option.state.value})
        for appeal in appeals.for_entry(entry):
            component = db.session.get(Component, appeal.component_id)
            mine.append(my_appeal_json(appeal, entry, component.stage, component))
    return jsonify(windows=windows, appeals=mine)


@endpoint("/me/appeals", method="POST", summary="File an appeal on a component of a stage the "
          "caller's entry is in, within its window (from the component's end for the stage's "
          "appeal window); one open appeal per component", tag="appeals",
          roles=(Role.CONTESTANT,), status=201, errors=(404,), request_schema=FILE_REQUEST,
          response_schema=MY_APPEAL_SCHEMA)
def file_my_appeal():
    def run():
        body = json_body()
        entry = next((e for e in _own_entries() if e.id == body["entry_id"]), None)
        if entry is None:
            raise NotFound(_("No such entry."))
        stage = db.session.scalar(sa.select(Stage).where(Stage.track_id == entry.track_id,
                                                         Stage.seq == body["stage"]))
        if stage is None:
            raise FieldErrors({"stage": _("No stage %(seq)s in track %(track)s of %(code)s.",
                                          seq=body["stage"], track=entry.track.code,
                                          code=entry.contest.code)})
        component = next((c for c in stage.components if c.code == body["component"]), None)
        if component is None:
            raise FieldErrors({"component": _("The stage has no component %(code)s.",
                                              code=body["component"])})
        try:
            appeal = appeals.file_appeal(entry, component, body["text"], actor=acting_user())
        except FieldErrors as error:  # the pages' field is the component's select
            raise FieldErrors({"component" if k == "component_id" else k: v
                               for k, v in error.errors.items()}) from None
        return jsonify(my_appeal_json(appeal, entry, stage, component)), 201
    return _run(run)


# ---------------------------------------------------------------------------------------------
# The arbitration group


@endpoint("/appeals", summary="Stages with appeals: how many wait for the ruling, were upheld "
          "(and await a new results version) or dismissed", tag="appeals", roles=VIEWERS,
          response_schema=OVERVIEW_SCHEMA)
def appeals_overview():
    return jsonify(stages=[{"stage": stage_brief(row["stage"]), "open": row["open"],
                            "upheld": row["upheld"], "awaiting_version": row["awaiting"],
                            "dismissed": row["dismissed"]}
                           for row in appeals.counts_by_stage()])


@endpoint(STAGE_PATH + "/appeals", summary="A stage's appeals, oldest first: open ones (by "
          "default) or upheld, dismissed or all; exam number, workstation, the component's "
          "stored points, the appeal and its ruling", tag="appeals", roles=VIEWERS,
          response_schema=STAGE_APPEALS_SCHEMA, errors=(400,),
          query={"status": {"type": "string", "enum": list(FILTERS)}})
def stage_appeals(code: str, track: str, seq: int):
    def run():
        stage = stage_by_keys(code, track, seq)
        show = request.args.get("status", "open")
        if show not in FILTERS:
            raise BadQuery(_("status must be one of %(values)s.", values=", ".join(FILTERS)))
        listed = appeals.for_stage(stage, None if show == "all" else RulingStatus(show))
        return jsonify(stage=stage_brief(stage), status=show,
                       appeals=appeals_json(stage, listed))
    return _run(run)


@endpoint("/appeals/<int:appeal_id>/ruling", method="POST", summary="The arbitration group's "
          "ruling on an open appeal, final: upheld (the score is to be corrected and a new "
          "results version computed naming the appeal) or dismissed, always with its reason; "
          "audited", tag="appeals", roles=(Role.ARBITRATOR,), errors=(409,),
          request_schema=RULING_REQUEST, response_schema=APPEAL_SCHEMA)
def rule_on_appeal(appeal_id: int):
    def run():
        appeal = db.session.get(Appeal, appeal_id)
        if appeal is None:
            raise NotFound(_("No such appeal."))
        stage = db.session.get(Component, appeal.component_id).stage
        body = json_body()
        appeals.rule_on(appeal, decision=body["decision"], ruling=body["ruling"],
                        actor=acting_user())
        return jsonify(appeals_json(stage, [appeal])[0])
    return _run(run)
