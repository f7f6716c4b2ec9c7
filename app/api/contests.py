"""API endpoints of contest configuration: a contest's whole configuration, copying it, stage
settings, weights, marking schemes and sittings. Contests, tracks, stages and components are
named by their natural keys (contest code, track code, stage order, component code)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import jsonify
from flask_babel import gettext as _
from flask_babel import to_user_timezone, to_utc

from app.api import endpoint, json_body
from app.errors import api_error
from app.extensions import db
from app.models import (
    AwardRounding,
    AwardTies,
    Component,
    Contest,
    CutoffTiePolicy,
    Role,
    Sitting,
    Stage,
    StageKind,
    StageStatus,
    Standardisation,
    Track,
)
from app.security import acting_user
from app.services import FieldErrors, stage_flow
from app.services import contests as contest_service
from app.services import marking_schemes as scheme_service
from app.services import sittings as sitting_service
from app.services import stages as stage_service
from app.services.audit import json_safe

READERS = (Role.ORGANISER, Role.CHIEF_JUDGE, Role.JUDGE, Role.ARBITRATOR)
WRITERS = (Role.ORGANISER,)
STAGE_PATH = "/contests/<code>/tracks/<track>/stages/<int:seq>"
# Service refusals that are about the state of things rather than the values sent.
# ---------------------------------------------------------------------------------------------
# Schemas

DECIMAL = {"type": "string", "description": "exact decimal"}
OPTIONAL_DECIMAL = {"type": ["string", "null"], "description": "exact decimal"}
DECIMAL_IN = {"type": ["string", "number", "null"],
              "description": "exact decimal; send a string to keep every digit"}
REQUIRED_DECIMAL_IN = {**DECIMAL_IN, "type": ["string", "number"]}
OPTIONAL_INT = {"type": ["integer", "null"]}
OPTIONAL_TEXT = {"type": ["string", "null"]}
DATE = {"type": ["string", "null"], "format": "date"}
DATETIME = {"type": ["string", "null"], "format": "date-time",
            "description": "ISO 8601; without an offset it is Beijing time"}
TIE_BREAK = {"type": "object", "required": ["key"], "additionalProperties": False,
             "properties": {"key": {"type": "string"},
                            "direction": {"type": ["string", "null"], "enum": ["asc", "desc", None]}}}
AWARD = {"type": "object", "required": ["name"], "additionalProperties": False,
         "description": "a prize, best first, with exactly one of count (places), share (percent "
                        "of the ranked eligible contestants) or through (the rest not yet "
                        "awarded within the top percent)",
         "properties": {"name": {"type": "string"}, "count": {"type": ["integer", "null"]},
                        "share": {"type": ["string", "number", "null"],
                                  "description": "exact decimal, percent"},
                        "through": {"type": ["string", "number", "null"],
                                    "description": "exact decimal, percent"}}}
AWARD_SETTINGS = {
    "award_rounding": {"type": "string", "enum": [r.value for r in AwardRounding],
                       "description": "a share into places: half_up, floor or ceil"},
    "award_ties": {"type": "string", "enum": [t.value for t in AwardTies],
                   "description": "a tie across a prize boundary: include (all take the "
                                  "better prize) or exclude (none does)"},
}


def _node_schema(depth: int, *, request: bool) -> dict:
    """A marking-scheme node; the tree is at most three deep (criterion → sub → item)."""
    number = DECIMAL_IN if request else OPTIONAL_DECIMAL
    schema: dict[str, Any] = {
        "type": "object", "required": ["node", "code", "title"],
        "properties": {
            "node": {"type": "string", "enum": ["criterion", "sub_criterion", "item"]},
            "code": {"type": "string"}, "title": {"type": "string"},
            "kind": {"type": ["string", "null"]}, "maximum": number,
            "all_or_nothing": {"type": "boolean"},
            "deduction_per_occurrence": number,
            "disqualify_scope": {"type": ["string", "null"]},
            "descriptors": {"type": ["object", "null"],
                            "additionalProperties": {"type": "string"}},
            "ability": {"type": ["string", "null"], "description": "the ability's code"},
            "children": ({"type": "array", "items": _node_schema(depth - 1, request=request)}
                         if depth > 1 else {"type": "array", "maxItems": 0}),
        },
    }
    if request:
        schema["additionalProperties"] = False
    else:
        schema["properties"]["total"] = {**DECIMAL, "description": "sum of the item maxima"}
        schema["required"] = [*schema["required"], "total", "children"]
    return schema


NODE_SCHEMA = _node_schema(3, request=False)
NODE_REQUEST_SCHEMA = _node_schema(3, request=True)

JUDGEMENT_ORDER = {
    "type": "string", "enum": ["per_sheet", "per_item"],
    "description": "in which order judges' judgement grades (0-3) become points: per_sheet, "
                   "each judge's sheet totalled (grades rounded per item on the sheet), then "
                   "the sheets combined; per_item (WorldSkills), each item's grades averaged "
                   "over the judges, / 3 x the maximum, rounded once"}

COMPONENT_SCHEMA = {
    "type": "object",
    "required": ["code", "name", "kind", "source", "weight", "maximum", "aggregation",
                 "min_judges", "judgement_order", "ends_at", "items_total", "has_scores", "scheme"],
    "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
        "source": {"type": "string", "enum": ["judges", "import"]},
        "weight": {**DECIMAL, "description": "percent of the stage total"},
        "maximum": DECIMAL, "aggregation": {"type": "string"}, "trim": OPTIONAL_INT,
        "min_judges": {"type": "integer"}, "disagreement_threshold": OPTIONAL_DECIMAL,
        "judgement_order": JUDGEMENT_ORDER,
        "min_percent": OPTIONAL_DECIMAL, "time_limit_minutes": OPTIONAL_INT,
        "overrun_deduction_per_minute": OPTIONAL_DECIMAL,
        "overrun_disqualify_after_minutes": OPTIONAL_INT,
        "ends_at": {**DATETIME, "description": "when the component ends (Beijing time, with "
                                               "its offset): its appeal window runs from here; "
                                               "null: from the end of each contestant's sitting"},
        "items_total": DECIMAL, "has_scores": {"type": "boolean"},
        "scheme": {"type": "array", "items": NODE_SCHEMA},
    },
}

SITTING_SCHEMA = {
    "type": "object", "required": ["id", "name", "capacity", "people"],
    "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "venue": OPTIONAL_TEXT,
        "room": OPTIONAL_TEXT, "starts_at": DATETIME, "ends_at": DATETIME,
        "capacity": OPTIONAL_INT, "people": {"type": "integer"},
        "by_enterprise": {"type": "array", "items": {
            "type": "object", "required": ["enterprise", "count"],
            "properties": {"enterprise": {"type": "string"}, "count": {"type": "integer"}}}},
        "exam_numbers": {"type": "array", "items": {"type": ["string", "null"]}},
    },
}

STAGE_SCHEMA = {
    "type": "object",
    "required": ["seq", "kind", "name", "status", "next_statuses", "decimals", "tie_breaks",
                 "components", "sittings"],
    "properties": {
        "seq": {"type": "integer"},
        "kind": {"type": "string", "enum": [k.value for k in StageKind]},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in StageStatus]},
        "next_statuses": {"type": "array", "items": {"type": "string"}},
        "starts_on": DATE, "ends_on": DATE,
        "registration_opens_at": DATETIME, "registration_closes_at": DATETIME,
        "quota": OPTIONAL_INT, "review_pool": OPTIONAL_INT, "per_enterprise_cap": OPTIONAL_INT,
        "cutoff_tie_policy": {"type": "string", "enum": [c.value for c in CutoffTiePolicy]},
        "tie_breaks": {"type": "array", "items": TIE_BREAK},
        "notice_days": {"type": "integer"}, "decimals": {"type": "integer"},
        "standardisation": {"type": "string", "enum": [s.value for s in Standardisation]},
        "recheck_top": {"type": "integer"},
        "recheck_fraction": {**DECIMAL, "description": "share of the rest re-checked, 0–1"},
        "recheck_error_threshold": {**DECIMAL, "description": "error rate forcing a full "
                                                              "re-check, 0–1"},
        "appeal_window_minutes": {"type": "integer"},
        "min_age": OPTIONAL_INT, "max_age": OPTIONAL_INT,
        "min_years_as_leader": OPTIONAL_DECIMAL,
        "awards": {"type": "array", "items": AWARD}, **AWARD_SETTINGS,
        "award_margin": {**OPTIONAL_DECIMAL, "description": "points within which totals "
                                                            "count as tied"},
        "components": {"type": "array", "items": COMPONENT_SCHEMA},
        "sittings": {"type": "array", "items": SITTING_SCHEMA},
    },
}

CONFIGURATION_SCHEMA = {
    "type": "object", "required": ["contest", "abilities", "tracks"],
    "properties": {
        "contest": {"type": "object", "required": ["code", "name", "year", "is_template"],
                    "properties": {
                        "code": {"type": "string"}, "name": {"type": "string"},
                        "short_name": OPTIONAL_TEXT, "year": {"type": "integer"},
                        "level": OPTIONAL_TEXT, "organiser": OPTIONAL_TEXT,
                        "contest_date": DATE, "exam_number_pattern": {"type": "string"},
                        "is_template": {"type": "boolean"},
                        "copied_from": OPTIONAL_TEXT}},
        "abilities": {"type": "array", "items": {
            "type": "object", "required": ["code", "name"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}},
        "tracks": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "number", "stages"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                           "number": {"type": "integer"}, "host_union": OPTIONAL_TEXT,
                           "co_hosts": {"type": "array", "items": {"type": "string"}},
                           "stages": {"type": "array", "items": STAGE_SCHEMA}}}},
    },
}

SCHEME_SCHEMA = {
    "type": "object", "required": ["component", "maximum", "items_total", "problems", "nodes"],
    "properties": {
        "component": {"type": "string"}, "maximum": DECIMAL, "items_total": DECIMAL,
        "problems": {"type": "array", "items": {"type": "string"},
                     "description": "why the scheme cannot be used for scoring yet"},
        "nodes": {"type": "array", "items": NODE_SCHEMA},
    },
}

SITTINGS_SCHEMA = {
    "type": "object", "required": ["sittings", "unassigned"],
    "properties": {"sittings": {"type": "array", "items": SITTING_SCHEMA},
                   "unassigned": {"type": "integer"}},
}

# ---------------------------------------------------------------------------------------------
# Answers


def _moment(value: datetime | None) -> str | None:
    return to_user_timezone(value).isoformat() if value else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def component_json(component: Component, scored: set[int]) -> dict:
    data = {name: json_safe(getattr(component, name)) for name in stage_service.COMPONENT_FIELDS}
    data.update(ends_at=_moment(component.ends_at),
                items_total=json_safe(scheme_service.items_total(component)),
                has_scores=component.id in scored,
                scheme=scheme_service.as_nested(component))
    return data


def sitting_json(roster: sitting_service.Roster) -> dict:
    sitting = roster.sitting
    return {"id": sitting.id, "name": sitting.name, "venue": sitting.venue, "room": sitting.room,
            "starts_at": _moment(sitting.starts_at), "ends_at": _moment(sitting.ends_at),
            "capacity": sitting.capacity, "people": roster.count,
            "by_enterprise": [{"enterprise": e, "count": n} for e, n in roster.by_enterprise],
            "exam_numbers": [p.entry.exam_number for p in roster.people]}


def _sitting_brief(sitting: Sitting) -> dict:
    return {"id": sitting.id, "name": sitting.name, "venue": sitting.venue, "room": sitting.room,
            "starts_at": _moment(sitting.starts_at), "ends_at": _moment(sitting.ends_at),
            "capacity": sitting.capacity, "people": sitting_service.assigned_count(sitting)}


def stage_json(stage: Stage) -> dict:
    data = {name: json_safe(getattr(stage, name)) for name in stage_service.STAGE_FIELDS}
    scored = stage_service.scored_component_ids([c.id for c in stage.components])
    data.update(
        seq=stage.seq, status=stage.status.value,
        next_statuses=[s.value for s in stage_flow.next_statuses(stage)],
        starts_on=_day(stage.starts_on), ends_on=_day(stage.ends_on),
        registration_opens_at=_moment(stage.registration_opens_at),
        registration_closes_at=_moment(stage.registration_closes_at),
        tie_breaks=list(stage.tie_breaks or []), awards=list(stage.awards or []),
        components=[component_json(c, scored) for c in stage.components],
        sittings=[_sitting_brief(s) for s in sitting_service.ordered(stage)])
    return data


def configuration_json(contest: Contest) -> dict:
    copied_from = db.session.get(Contest, contest.copied_from_id) \
        if contest.copied_from_id else None
    return {
        "contest": {**{name: json_safe(getattr(contest, name))
                       for name in contest_service.CONTEST_FIELDS},
                    "copied_from": copied_from.code if copied_from else None},
        "abilities": [{"code": a.code, "name": a.name} for a in contest.abilities],
        "tracks": [{"code": t.code, "name": t.name, "number": t.number,
                    "host_union": t.host_union,
                    "co_hosts": (t.co_hosts or "").splitlines(),
                    "stages": [stage_json(s) for s in t.stages]} for t in contest.tracks],
    }


def scheme_json(component: Component) -> dict:
    return {"component": component.code, "maximum": json_safe(component.maximum),
            "items_total": json_safe(scheme_service.items_total(component)),
            "problems": scheme_service.scheme_problems(component),
            "nodes": scheme_service.as_nested(component)}


class NotFound(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _contest(code: str) -> Contest:
    contest = contest_service.get_contest(code)
    if contest is None:
        raise NotFound(_("No contest with code %(code)s.", code=code))
    return contest


def _stage(code: str, track: str, seq: int) -> Stage:
    stage = db.session.scalar(
        sa.select(Stage).join(Track).join(Contest)
        .where(Contest.code == code, Track.code == track, Stage.seq == seq))
    if stage is None:
        _contest(code)
        raise NotFound(_("No stage %(seq)s in track %(track)s of %(code)s.", seq=seq,
                         track=track, code=code))
    return stage


def _component(stage: Stage, code: str) -> Component:
    for component in stage.components:
        if component.code == code:
            return component
    raise NotFound(_("The stage has no component %(code)s.", code=code))


def _times(body: dict, names: tuple[str, ...]) -> tuple[dict, dict[str, str]]:
    """ISO times in the body as naive UTC (no offset: Beijing time); bad ones as field errors."""
    values, problems = dict(body), {}
    for name in names:
        raw = body.get(name)
        if raw in (None, ""):
            values[name] = None
            continue
        try:
            moment = datetime.fromisoformat(str(raw))
        except ValueError:
            problems[name] = _("Enter a date and time.")
            continue
        values[name] = to_utc(moment)  # an offset is honoured; none means Beijing time
    return values, problems


def _run(call):
    """Call a view body, turning a look-up that found nothing into a 404. A service's refusal
    propagates to the one handler (app/errors.py)."""
    try:
        return call()
    except NotFound as missing:
        return api_error(404, "not_found", missing.message)


# ---------------------------------------------------------------------------------------------
# Endpoints


@endpoint("/contests/<code>/configuration", summary="A contest's whole configuration: tracks, "
          "abilities, stages with every setting, components, marking schemes, sittings",
          tag="configuration", roles=READERS, response_schema=CONFIGURATION_SCHEMA)
def contest_configuration(code: str):
    return _run(lambda: jsonify(configuration_json(_contest(code))))


@endpoint("/contests/<code>/copy", method="POST", summary="A new contest copied from this one "
          "(or a template): its configuration without people, stages in draft, dates moved by "
          "the years between", tag="configuration", roles=WRITERS, status=201, errors=(409,),
          response_schema=CONFIGURATION_SCHEMA,
          request_schema={"type": "object", "required": ["code", "name", "year"],
                          "additionalProperties": False,
                          "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                         "year": {"type": "integer"},
                                         "is_template": {"type": "boolean"}}})
def copy_contest(code: str):
    def run():
        copy = contest_service.copy_contest(_contest(code), json_body(), actor=acting_user())
        return jsonify(configuration_json(copy)), 201
    return _run(run)


STAGE_REQUEST_SCHEMA = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {
        "kind": {"type": "string"}, "name": {"type": "string"},
        "starts_on": DATE, "ends_on": DATE,
        "registration_opens_at": DATETIME, "registration_closes_at": DATETIME,
        "quota": OPTIONAL_INT, "review_pool": OPTIONAL_INT, "per_enterprise_cap": OPTIONAL_INT,
        "cutoff_tie_policy": {"type": "string"},
        "tie_breaks": {"type": "array", "items": TIE_BREAK},
        "notice_days": {"type": "integer"}, "decimals": {"type": "integer"},
        "standardisation": {"type": "string"}, "recheck_top": {"type": "integer"},
        "recheck_fraction": DECIMAL_IN, "recheck_error_threshold": DECIMAL_IN,
        "appeal_window_minutes": {"type": "integer"},
        "min_age": OPTIONAL_INT, "max_age": OPTIONAL_INT, "min_years_as_leader": DECIMAL_IN,
        "awards": {"type": "array", "items": AWARD}, **AWARD_SETTINGS,
        "award_margin": DECIMAL_IN,
    },
}


@endpoint(STAGE_PATH, method="PATCH", summary="Change a stage's settings (only the fields "
          "sent; all are checked together)", tag="configuration", roles=WRITERS,
          errors=(409,), request_schema=STAGE_REQUEST_SCHEMA, response_schema=STAGE_SCHEMA)
def update_stage_settings(code: str, track: str, seq: int):
    def run():
        stage = _stage(code, track, seq)
        times = tuple(n for n in ("registration_opens_at", "registration_closes_at")
                      if n in json_body())
        values, problems = _times(json_body(), times)
        if problems:
            raise FieldErrors(problems)
        stage_service.update_stage(stage, values, actor=acting_user())
        return jsonify(stage_json(stage))
    return _run(run)


@endpoint(STAGE_PATH + "/status", method="POST", summary="Move a stage by hand one step along "
          "its life cycle (draft → registration → scoring; provisional → final for a stage "
          "without a quota); every other step follows the work", tag="configuration",
          roles=WRITERS,
          errors=(409,), response_schema=STAGE_SCHEMA,
          request_schema={"type": "object", "required": ["status"], "additionalProperties": False,
                          "properties": {"status": {"type": "string"},
                                         "reason": {"type": "string"}}})
def change_stage_status(code: str, track: str, seq: int):
    def run():
        stage = _stage(code, track, seq)
        stage_flow.change_status(stage, json_body()["status"], actor=acting_user(),
                                    reason=json_body().get("reason"))
        return jsonify(stage_json(stage))
    return _run(run)


@endpoint(STAGE_PATH + "/weights", method="PUT", summary="Set the weights of a stage's "
          "components by code (the others keep theirs); they must add up to 100",
          tag="configuration", roles=WRITERS, errors=(409,), response_schema=STAGE_SCHEMA,
          request_schema={"type": "object", "required": ["weights"], "additionalProperties": False,
                          "properties": {"weights": {"type": "object", "minProperties": 1,
                                                     "additionalProperties": DECIMAL_IN}}})
def set_stage_weights(code: str, track: str, seq: int):
    def run():
        stage = _stage(code, track, seq)
        stage_service.set_weights(stage, json_body()["weights"], actor=acting_user())
        db.session.expire(stage, ["components"])
        return jsonify(stage_json(stage))
    return _run(run)


COMPONENT_REQUEST_SCHEMA = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
        "source": {"type": "string", "enum": ["judges", "import"]},
        "weight": {**REQUIRED_DECIMAL_IN, "description": "percent of the stage total; the weights must "
                                                "still add up to 100 (PUT /weights changes "
                                                "several at once)"},
        "maximum": REQUIRED_DECIMAL_IN, "aggregation": {"type": "string"}, "trim": OPTIONAL_INT,
        "min_judges": OPTIONAL_INT, "disagreement_threshold": DECIMAL_IN,
        "judgement_order": JUDGEMENT_ORDER,
        "min_percent": DECIMAL_IN, "time_limit_minutes": OPTIONAL_INT,
        "overrun_deduction_per_minute": DECIMAL_IN,
        "overrun_disqualify_after_minutes": OPTIONAL_INT,
        "ends_at": {**DATETIME, "description": "when the component ends, within the stage's "
                                               "dates; the appeal window runs from here. ISO "
                                               "8601; without an offset it is Beijing time; "
                                               "null clears it"},
    },
}


@endpoint(STAGE_PATH + "/components/<component>", method="PATCH", summary="Change a "
          "component's settings (only the fields sent), checked with the stage's other "
          "components; a component with scores keeps its code, weight, maximum and judging "
          "rules", tag="configuration", roles=WRITERS, errors=(409,),
          request_schema=COMPONENT_REQUEST_SCHEMA, response_schema=COMPONENT_SCHEMA)
def update_component_settings(code: str, track: str, seq: int, component: str):
    def run():
        stage = _stage(code, track, seq)
        target = _component(stage, component)
        values, problems = _times(json_body(), ("ends_at",) if "ends_at" in json_body() else ())
        if problems:
            raise FieldErrors(problems)
        stage_service.update_component(stage, target, values, actor=acting_user())
        return jsonify(component_json(target, stage_service.scored_component_ids([target.id])))
    return _run(run)


@endpoint(STAGE_PATH + "/components/<component>/scheme", summary="A component's marking scheme "
          "as a tree, with the total of the item maxima", tag="configuration", roles=READERS,
          response_schema=SCHEME_SCHEMA)
def get_marking_scheme(code: str, track: str, seq: int, component: str):
    return _run(lambda: jsonify(scheme_json(_component(_stage(code, track, seq), component))))


@endpoint(STAGE_PATH + "/components/<component>/scheme", method="PUT", summary="Replace a "
          "component's marking scheme; every node is checked first (errors name nodes.<n> in "
          "pre-order); refused once the component has scores", tag="configuration",
          roles=WRITERS, errors=(409,), response_schema=SCHEME_SCHEMA,
          request_schema={"type": "object", "required": ["nodes"], "additionalProperties": False,
                          "properties": {"nodes": {"type": "array",
                                                   "items": NODE_REQUEST_SCHEMA}}})
def put_marking_scheme(code: str, track: str, seq: int, component: str):
    def run():
        target = _component(_stage(code, track, seq), component)
        scheme_service.replace_nested(target, json_body()["nodes"], actor=acting_user())
        db.session.expire(target, ["items"])
        return jsonify(scheme_json(target))
    return _run(run)


def _sittings_answer(stage: Stage) -> dict:
    rosters, unassigned = sitting_service.rosters(stage)
    return {"sittings": [sitting_json(r) for r in rosters], "unassigned": unassigned.count}


@endpoint(STAGE_PATH + "/sittings", summary="A stage's sittings with their people (exam "
          "numbers) and counts per enterprise", tag="configuration", roles=WRITERS,
          response_schema=SITTINGS_SCHEMA)
def stage_sittings(code: str, track: str, seq: int):
    return _run(lambda: jsonify(_sittings_answer(_stage(code, track, seq))))


@endpoint(STAGE_PATH + "/sittings", method="POST", summary="Add a sitting to a stage",
          tag="configuration", roles=WRITERS, status=201, response_schema=SITTING_SCHEMA,
          request_schema={"type": "object", "required": ["name"], "additionalProperties": False,
                          "properties": {"name": {"type": "string"}, "venue": OPTIONAL_TEXT,
                                         "room": OPTIONAL_TEXT, "starts_at": DATETIME,
                                         "ends_at": DATETIME, "capacity": OPTIONAL_INT}})
def create_sitting(code: str, track: str, seq: int):
    def run():
        stage = _stage(code, track, seq)
        values, problems = _times(json_body(), ("starts_at", "ends_at"))
        if problems:
            raise FieldErrors(problems)
        sitting = sitting_service.create_sitting(stage, values, actor=acting_user())
        return jsonify(sitting_json(sitting_service.Roster(sitting, [], []))), 201
    return _run(run)


@endpoint(STAGE_PATH + "/sittings/assign", method="POST", summary="Assign the stage's "
          "contestants to its sittings automatically: balanced within capacity, an enterprise's "
          "people spread apart, deterministic", tag="configuration", roles=WRITERS,
          errors=(409,),
          response_schema={"type": "object", "required": ["placed", "moved", "together",
                                                          "sittings", "unassigned"],
                           "properties": {"placed": {"type": "integer"},
                                          "moved": {"type": "integer"},
                                          "together": {"type": "array", "items": {
                                              "type": "object",
                                              "properties": {"sitting": {"type": "string"},
                                                             "enterprise": {"type": "string"},
                                                             "count": {"type": "integer"}}}},
                                          **SITTINGS_SCHEMA["properties"]}},
          request_schema={"type": "object", "additionalProperties": False,
                          "properties": {"mode": {"type": "string",
                                                  "enum": ["all", "unassigned"]}}})
def assign_stage_sittings(code: str, track: str, seq: int):
    def run():
        stage = _stage(code, track, seq)
        result = sitting_service.assign_automatically(
            stage, only_unassigned=json_body().get("mode") == "unassigned", actor=acting_user())
        return jsonify(placed=result.placed, moved=result.moved,
                       together=[{"sitting": s, "enterprise": e, "count": n}
                                 for s, e, n in result.together],
                       **_sittings_answer(stage))
    return _run(run)
