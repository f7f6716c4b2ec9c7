"""API endpoints of the re-check (复核) of a draft results version, as the organiser's console
does it: a version's rounds, one round's entries (paginated), drawing the sample, marking
entries correct or corrected (with what was wrong), closing the round.

Organisers only, as the console's re-check pages. Each entry is named by its exam number and
workstation; the contestant's name only once every judged component of the stage is decrypted
(results.names_revealed), as on the round page. The sample's seed is made by the server and never
chosen by the caller."""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from app.api import ID, PAGE, endpoint, json_body
from app.api.contests import NotFound
from app.api.results import (
    DECIMAL,
    INT,
    MAX_PER_PAGE,
    MOMENT,
    PER_PAGE,
    STAGE_BRIEF,
    TEXT,
    VERSION_BRIEF,
    BadQuery,
    _moment,
    _positive,
    _run,
    _value,
    _version,
    stage_brief,
    version_brief,
)
from app.extensions import db
from app.models import (
    Entry,
    RecheckItem,
    RecheckKind,
    RecheckOutcome,
    RecheckRound,
    ResultsVersion,
    Role,
    StageEntry,
    User,
)
from app.security import acting_user
from app.services import rechecks, results

WRITERS = (Role.ORGANISER,)
SHOW = ("all", "pending", "corrected")
SHARE = {"type": "string", "description": "exact decimal share, 0–1"}

# ---------------------------------------------------------------------------------------------
# Schemas

VERDICT_SCHEMA = {
    "type": "object",
    "required": ["checked", "errors", "error_rate", "threshold", "full_recheck_required",
                 "message"],
    "properties": {"checked": {"type": "integer"}, "errors": {"type": "integer"},
                   "error_rate": SHARE, "threshold": SHARE,
                   "full_recheck_required": {"type": "boolean"},
                   "message": {"type": "string"}},
}

ROUND_SCHEMA = {
    "type": "object",
    "required": ["id", "version_id", "kind", "seed", "top", "fraction", "created_at",
                 "closed_at", "error_rate", "progress", "verdict", "demanded_full"],
    "properties": {
        "id": {"type": "integer"}, "version_id": {"type": "integer"},
        "kind": {"type": "string", "enum": [k.value for k in RecheckKind],
                 "description": "sample: the top M and a seeded sample of the rest; full: "
                                "every entry (demanded by a sample's error rate)"},
        "seed": {"type": "string", "description": "redraw: order the rest by SHA-256 of "
                                                  "\"<seed>|<entry_id>\""},
        "top": {"type": "integer"}, "fraction": SHARE,
        "created_at": MOMENT, "closed_at": MOMENT,
        "error_rate": {**DECIMAL, "description": "set when closed"},
        "progress": {"type": "object", "required": ["total", "checked", "corrected", "pending"],
                     "properties": {"total": {"type": "integer"},
                                    "checked": {"type": "integer"},
                                    "corrected": {"type": "integer"},
                                    "pending": {"type": "integer"}}},
        "verdict": {"oneOf": [VERDICT_SCHEMA, {"type": "null"}],
                    "description": "on the entries checked so far; null before any"},
        "demanded_full": {"type": "boolean",
                          "description": "a closed sample whose error rate opened a full round"},
    },
}

ROUNDS_SCHEMA = {
    "type": "object", "required": ["stage", "version", "required", "blocker", "rounds"],
    "properties": {
        "stage": STAGE_BRIEF, "version": VERSION_BRIEF,
        "required": {"type": "boolean", "description": "the stage's settings ask for one"},
        "blocker": {**TEXT, "description": "why the draft cannot be published yet because of "
                                           "its re-check (null: nothing blocks)"},
        "rounds": {"type": "array", "items": ROUND_SCHEMA},
    },
}

ITEM_SCHEMA = {
    "type": "object",
    "required": ["id", "entry_id", "why", "rank", "exam_number", "workstation", "name", "total",
                 "components", "outcome", "note", "checked_by", "checked_at"],
    "properties": {
        "id": {"type": "integer"},
        "entry_id": {"type": "integer", "description": "the contestant's place in the stage"},
        "why": {"type": "string", "enum": ["top", "sample", "full"]},
        "rank": INT, "exam_number": TEXT, "workstation": TEXT,
        "name": {**TEXT, "description": "null until names are revealed"},
        "total": DECIMAL,
        "components": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "points"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                           "points": DECIMAL}}},
        "outcome": {"type": "string", "enum": [o.value for o in RecheckOutcome]},
        "note": {**TEXT, "description": "what was wrong (corrected)"},
        "checked_by": TEXT, "checked_at": MOMENT,
    },
}

ROUND_PAGE_SCHEMA = {
    "type": "object",
    "required": ["stage", "version", "round", "show", "page", "pages", "total", "items"],
    "properties": {"stage": STAGE_BRIEF, "version": VERSION_BRIEF, "round": ROUND_SCHEMA,
                   "show": {"type": "string", "enum": list(SHOW)},
                   "page": {"type": "integer"}, "pages": {"type": "integer"},
                   "total": {"type": "integer"},
                   "items": {"type": "array", "items": ITEM_SCHEMA}},
}

# ---------------------------------------------------------------------------------------------
# Look-ups and answers


def _round(round_id: int) -> RecheckRound:
    round_ = db.session.get(RecheckRound, round_id)
    if round_ is None:
        raise NotFound(_("No such re-check round."))
    return round_


def _verdict(verdict) -> dict | None:
    if verdict is None:
        return None
    return {"checked": verdict.checked, "errors": verdict.errors,
            "error_rate": str(verdict.error_rate), "threshold": str(verdict.threshold),
            "full_recheck_required": verdict.full_recheck_required, "message": verdict.message}


def round_json(round_: RecheckRound, version: ResultsVersion) -> dict:
    state = rechecks.progress(round_, version.stage)
    return {"id": round_.id, "version_id": round_.version_id, "kind": round_.kind.value,
            "seed": round_.seed, "top": round_.top, "fraction": str(round_.fraction),
            "created_at": _moment(round_.created_at), "closed_at": _moment(round_.closed_at),
            "error_rate": str(round_.error_rate) if round_.error_rate is not None else None,
            "progress": {"total": state.total, "checked": state.checked,
                         "corrected": state.errors, "pending": state.pending},
            "verdict": _verdict(state.verdict),
            "demanded_full": bool(round_.closed_at) and rechecks.demanded_full(round_)}


def _blocker(version: ResultsVersion) -> str | None:
    return rechecks.publication_blocker(version) if version.status.value == "draft" else None


def items_json(round_: RecheckRound, version: ResultsVersion,
               items: list[RecheckItem]) -> list[dict]:
    """The round's entries as the round page shows them: why each was taken, its numbers in
    the version, exam number and workstation, the name only once revealed, the outcome."""
    ids = [i.stage_entry_id for i in items]
    numbers = rechecks.lines(version, ids)
    places = {p.id: p for p in db.session.scalars(
        sa.select(StageEntry).where(StageEntry.id.in_(ids))
        .options(joinedload(StageEntry.entry).joinedload(Entry.contestant)))} if ids else {}
    checkers = {u.id: u.display_name for u in db.session.scalars(sa.select(User).where(
        User.id.in_({i.checked_by_id for i in items if i.checked_by_id})))}
    reveal = results.names_revealed(version.stage)
    components = version.settings["components"]
    d = int(version.settings["decimals"])
    out = []
    for item in items:
        line = numbers.get(item.stage_entry_id, {})
        place = places.get(item.stage_entry_id)
        rank = line.get("rank")
        out.append({
            "id": item.id, "entry_id": item.stage_entry_id, "why": rechecks.why(round_, rank),
            "rank": rank, "exam_number": place.entry.exam_number if place else None,
            "workstation": place.workstation_number if place else None,
            "name": place.entry.contestant.name if place and reveal else None,
            "total": _value(line.get("total"), d),
            "components": [{"code": c["code"], "name": c["name"],
                            "points": _value(line.get(f"{c['code']}_points"), d)}
                           for c in components],
            "outcome": item.outcome.value, "note": item.note,
            "checked_by": checkers.get(item.checked_by_id), "checked_at": _moment(item.checked_at)})
    return out


# ---------------------------------------------------------------------------------------------
# Endpoints


@endpoint("/results/<int:version_id>/rechecks", summary="A results version's re-check rounds "
          "(the sample, and the full round it may have demanded), with their progress and "
          "what still blocks publication", tag="re-check", roles=WRITERS,
          response_schema=ROUNDS_SCHEMA)
def list_recheck_rounds(version_id: int):
    def run():
        version = _version(version_id)
        return jsonify(stage=stage_brief(version.stage), version=version_brief(version),
                       required=rechecks.required(version.stage), blocker=_blocker(version),
                       rounds=[round_json(r, version) for r in rechecks.rounds(version)])
    return _run(run)


@endpoint("/results/<int:version_id>/rechecks", method="POST", summary="Draw the re-check "
          "sample of a draft version (the top M by rank and a seeded share of the rest, by the "
          "stage's settings; the server makes the seed) and open its round; once per version",
          tag="re-check", roles=WRITERS, status=201, errors=(409,), response_schema=ROUND_SCHEMA)
def open_recheck_round(version_id: int):
    def run():
        version = _version(version_id)
        round_ = rechecks.open_round(version, actor=acting_user())
        return jsonify(round_json(round_, version)), 201
    return _run(run)


@endpoint("/rechecks/<int:round_id>", summary="One re-check round with its entries, paginated: "
          "why each was taken (top, sample, full), rank, points and total in the version, exam "
          "number and workstation (the name once revealed), the outcome and note",
          tag="re-check", roles=WRITERS, response_schema=ROUND_PAGE_SCHEMA, errors=(400,),
          query={"show": {"type": "string", "enum": list(SHOW)},
                 "page": PAGE,
                 "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}})
def get_recheck_round(round_id: int):
    def run():
        round_ = _round(round_id)
        version = db.session.get(ResultsVersion, round_.version_id)
        show = request.args.get("show", "all")
        if show not in SHOW:
            raise BadQuery(_("show must be one of %(values)s.", values=", ".join(SHOW)))
        page = _positive("page", 1, PAGE["maximum"])
        per_page = _positive("per_page", PER_PAGE, MAX_PER_PAGE)
        query = sa.select(RecheckItem).where(RecheckItem.round_id == round_.id)
        if show != "all":
            query = query.where(RecheckItem.outcome == RecheckOutcome(show))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        items = list(db.session.scalars(query.order_by(RecheckItem.id)
                                        .limit(per_page).offset((page - 1) * per_page)))
        return jsonify(stage=stage_brief(version.stage), version=version_brief(version),
                       round=round_json(round_, version), show=show, page=page,
                       pages=max(1, -(-total // per_page)), total=total,
                       items=items_json(round_, version, items))
    return _run(run)


@endpoint("/rechecks/<int:round_id>/items/<int:item_id>", method="POST", summary="Record one "
          "entry's re-check: correct, or corrected (the score was wrong: the note says what); "
          "a mark may be changed while the round is open; audited", tag="re-check",
          roles=WRITERS, errors=(409,), response_schema=ITEM_SCHEMA,
          request_schema={"type": "object", "required": ["outcome"], "additionalProperties": False,
                          "properties": {"outcome": {"type": "string",
                                                     "description": "correct or corrected"},
                                         "note": {"type": ["string", "null"],
                                                  "description": "required when corrected"}}})
def record_recheck_item(round_id: int, item_id: int):
    def run():
        round_ = _round(round_id)
        item = db.session.get(RecheckItem, item_id)
        if item is None or item.round_id != round_.id:
            raise NotFound(_("No such entry in this re-check."))
        body = json_body()
        rechecks.record(item, outcome=body["outcome"], note=body.get("note"), actor=acting_user())
        version = db.session.get(ResultsVersion, round_.version_id)
        return jsonify(items_json(round_, version, [item])[0])
    return _run(run)


@endpoint("/rechecks/<int:round_id>/correct", method="POST", summary="Mark entries of the round "
          "correct at once (those still to check; the others keep their mark)", tag="re-check",
          roles=WRITERS, errors=(409,),
          request_schema={"type": "object", "required": ["item_ids"],
                          "additionalProperties": False,
                          "properties": {"item_ids": {"type": "array", "minItems": 1,
                                                      "maxItems": 10000, "items": ID}}},
          response_schema={"type": "object", "required": ["marked", "round"],
                           "properties": {"marked": {"type": "integer"},
                                          "round": ROUND_SCHEMA}})
def mark_recheck_items_correct(round_id: int):
    def run():
        round_ = _round(round_id)
        marked = rechecks.mark_correct(round_, json_body()["item_ids"], actor=acting_user())
        version = db.session.get(ResultsVersion, round_.version_id)
        return jsonify(marked=marked, round=round_json(round_, version))
    return _run(run)


@endpoint("/rechecks/<int:round_id>/close", method="POST", summary="Close a round whose entries "
          "are all checked: its error rate, and — for a sample above the stage's threshold — "
          "the full re-check it demands, opened at once", tag="re-check", roles=WRITERS,
          errors=(409,),
          response_schema={"type": "object", "required": ["verdict", "round", "full_round"],
                           "properties": {"verdict": VERDICT_SCHEMA, "round": ROUND_SCHEMA,
                                          "full_round": {"oneOf": [ROUND_SCHEMA,
                                                                   {"type": "null"}]}}})
def close_recheck_round(round_id: int):
    def run():
        round_ = _round(round_id)
        verdict, full = rechecks.close(round_, actor=acting_user())
        version = db.session.get(ResultsVersion, round_.version_id)
        return jsonify(verdict=_verdict(verdict), round=round_json(round_, version),
                       full_round=round_json(full, version) if full else None)
    return _run(run)
