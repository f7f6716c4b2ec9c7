"""Organiser console: a stage's eligibility pool (资格审核) -- draw it, decide on its members."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import clean_text, parse_id
from app.labels import POOL_STATE
from app.models import PoolMember, PoolState, Role, Stage
from app.security import roles_required
from app.services import ServiceError, eligibility, results, stage_flow

STATES = ("all",) + tuple(s.value for s in PoolState)


def _stage(stage_id: int) -> Stage:
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    return stage


def _filters() -> dict[str, str]:
    state = request.args.get("state", "all")
    query = request.args.get("q", "")
    try:
        query = clean_text(query, field="q")[:50]
    except ServiceError:
        query = ""
    return {"state": state if state in STATES else "all", "q": query}


def _page(stage: Stage, errors: dict | None = None, status: int = 200):
    pool = eligibility.pool_of(stage)
    filters = _filters()
    # who can still change the list: computed once for the counts, the blockers and the rows
    waiting = eligibility.undecided_that_matter(pool.version) if pool is not None else []
    lines = (eligibility.member_lines(pool, state=None if filters["state"] == "all"
                                      else filters["state"], query=filters["q"] or None,
                                      waiting=waiting)
             if pool is not None else [])
    return render_template(
        "admin/eligibility_pool.html", stage=stage, pool=pool, lines=lines, filters=filters,
        counts=eligibility.counts(pool, waiting) if pool is not None else None,
        blockers=eligibility.list_blockers(pool.version, waiting) if pool is not None else [],
        published=results.latest_published(stage), uses_pool=eligibility.uses_pool(stage),
        reveal=results.names_revealed(stage), errors=errors or {},
        can_decide=stage_flow.refusal(stage, stage_flow.Step.POOL_DECIDED) is None,
        state_labels={s: str(label) for s, label in POOL_STATE.items()}), status


@bp.route("/stages/<int:stage_id>/eligibility")
@roles_required(Role.ORGANISER)
def eligibility_pool(stage_id: int):
    return _page(_stage(stage_id))


def _back(stage: Stage):
    filters = _filters()
    return redirect(url_for("admin.eligibility_pool", stage_id=stage.id,
                            **{k: v for k, v in filters.items() if v and v != "all"}))


@bp.route("/stages/<int:stage_id>/eligibility/draw", methods=["POST"])
@roles_required(Role.ORGANISER)
def draw_eligibility_pool(stage_id: int):
    stage = _stage(stage_id)
    with Refusal():
        version = results.latest_published(stage)
        if version is None:
            raise ServiceError(_("No results version has been published yet."), code="conflict")
        pool = eligibility.draw(version, actor=current_user)
        flash(_("The eligibility pool has been drawn: %(n)d members.",
                n=eligibility.counts(pool).members), "success")
    return _back(stage)


@bp.route("/stages/<int:stage_id>/eligibility/confirm", methods=["POST"])
@roles_required(Role.ORGANISER)
def confirm_eligibility(stage_id: int):
    """Confirm the undecided members ticked (or shown) on the page at once."""
    stage = _stage(stage_id)
    pool = eligibility.pool_of(stage)
    if pool is None:
        abort_with(404, _("The eligibility pool has not been drawn yet."))
    ids = [i for i in map(parse_id, request.form.getlist("member_id")) if i is not None]
    with Refusal():
        decided = eligibility.decide(pool, ids, eligible=True, actor=current_user,
                                     only_undecided=True)
        flash(_("%(n)d members confirmed eligible.", n=len(decided)), "success")
    return _back(stage)


@bp.route("/eligibility/<int:member_id>", methods=["POST"])
@roles_required(Role.ORGANISER)
def decide_eligibility(member_id: int):
    """One member: confirmed, or found ineligible with the reason the contestant sees."""
    member = db.session.get(PoolMember, member_id)
    if member is None or not member.in_pool:
        abort_with(404, _("No such member of an eligibility pool."))
    stage = member.pool.stage
    decision = request.form.get("decision")
    refusal = Refusal(fields=("reason", "decision"))
    with refusal:
        if decision not in ("confirmed", "ineligible"):
            raise ServiceError(_("Choose eligible or not eligible."), field="decision")
        eligibility.decide(member.pool, [member.id], eligible=decision == "confirmed",
                           reason=request.form.get("reason"), actor=current_user)
        flash(_("Decision recorded."), "success")
    if refusal.errors:
        return _page(stage, {member.id: refusal.errors}, 422)
    return _back(stage)
