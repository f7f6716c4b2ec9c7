"""Organiser console: the re-check (复核) of a draft results version before publication."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import parse_id
from app.models import (
    RecheckItem,
    RecheckOutcome,
    RecheckRound,
    ResultsVersion,
    Role,
    StageEntry,
    User,
)
from app.security import roles_required
from app.services import rechecks, results
from app.services.audit import json_safe

PAGE_SIZE = 100
SHOW = ("all", "pending", "corrected")


@bp.app_template_global("recheck_summary")
def recheck_summary(version: ResultsVersion) -> dict:
    """What the version page shows about the re-check: its rounds and what still blocks."""
    return {"required": rechecks.required(version.stage), "rounds": rechecks.rounds(version),
            "blocker": rechecks.publication_blocker(version)
            if version.status.value == "draft" else None}


def _version(version_id: int) -> ResultsVersion:
    version = db.session.get(ResultsVersion, version_id)
    if version is None:
        abort_with(404, _("No such results version."))
    return version


def _round(round_id: int) -> RecheckRound:
    round_ = db.session.get(RecheckRound, round_id)
    if round_ is None:
        abort_with(404, _("No such re-check round."))
    return round_


@bp.route("/results/<int:version_id>/recheck", methods=["POST"])
@roles_required(Role.ORGANISER)
def open_recheck(version_id: int):
    version = _version(version_id)
    with Refusal() as refusal:
        round_ = rechecks.open_round(version, actor=current_user)
    if refusal.refused:
        return redirect(url_for("admin.results_version", version_id=version.id))
    flash(_("The re-check sample has been drawn."), "success")
    return redirect(url_for("admin.recheck_round", round_id=round_.id))


def _render_round(round_: RecheckRound, errors: dict | None = None):
    version = db.session.get(ResultsVersion, round_.version_id)
    stage = version.stage
    show = request.args.get("show", "all")
    show = show if show in SHOW else "all"
    query = sa.select(RecheckItem).where(RecheckItem.round_id == round_.id)
    if show != "all":
        query = query.where(RecheckItem.outcome == RecheckOutcome(show))
    page = db.paginate(query.order_by(RecheckItem.id), per_page=PAGE_SIZE, error_out=False)
    ids = [i.stage_entry_id for i in page.items]
    lines = rechecks.lines(version, ids)
    places = {p.id: p for p in db.session.scalars(sa.select(StageEntry).where(
        StageEntry.id.in_(ids)))} if ids else {}
    checkers = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(
        {i.checked_by_id for i in page.items if i.checked_by_id})))}
    rows = []
    for item in page.items:
        line = lines.get(item.stage_entry_id)
        rank = line["rank"] if line else None
        rows.append({"item": item, "place": places.get(item.stage_entry_id), "line": line,
                     "rank": rank, "why": rechecks.why(round_, rank),
                     "checker": checkers.get(item.checked_by_id)})
    others = [r for r in rechecks.rounds(version) if r.id != round_.id]
    return render_template(
        "admin/recheck_round.html", round=round_, version=version, stage=stage, rows=rows,
        page=page, show=show, progress=rechecks.progress(round_, stage),
        components=version.settings["components"], reveal=results.names_revealed(stage),
        demanded_full=rechecks.demanded_full(round_) if round_.closed_at else False,
        others=others, blocker=rechecks.publication_blocker(version)
        if version.status.value == "draft" else None, errors=errors or {},
        percent=lambda share: json_safe(share * 100))


@bp.route("/rechecks/<int:round_id>")
@roles_required(Role.ORGANISER)
def recheck_round(round_id: int):
    return _render_round(_round(round_id))


@bp.route("/rechecks/<int:round_id>/correct", methods=["POST"])
@roles_required(Role.ORGANISER)
def recheck_mark_correct(round_id: int):
    round_ = _round(round_id)
    ids = [i for i in map(parse_id, request.form.getlist("item_id")) if i is not None]
    with Refusal():
        n = rechecks.mark_correct(round_, ids, actor=current_user)
        flash(_("%(n)d entries marked correct.", n=n), "success")
    return redirect(url_for("admin.recheck_round", round_id=round_.id,
                            show=request.args.get("show", "all"),
                            page=request.args.get("page", 1, type=int)))


@bp.route("/rechecks/<int:round_id>/items/<int:recheck_item_id>", methods=["POST"])
@roles_required(Role.ORGANISER)
def recheck_record(round_id: int, recheck_item_id: int):
    round_ = _round(round_id)
    item = db.session.get(RecheckItem, recheck_item_id)
    if item is None or item.round_id != round_.id:
        abort_with(404, _("No such entry in this re-check."))
    refusal = Refusal(fields=("outcome", "note"))  # shown on the item's row
    with refusal:
        rechecks.record(item, outcome=request.form.get("outcome", ""),
                        note=request.form.get("note"), actor=current_user)
        flash(_("Re-check recorded."), "success")
    if refusal.errors:
        return _render_round(round_, {item.id: refusal.errors})
    return redirect(url_for("admin.recheck_round", round_id=round_.id,
                            show=request.args.get("show", "all"),
                            page=request.args.get("page", 1, type=int)))


@bp.route("/rechecks/<int:round_id>/close", methods=["POST"])
@roles_required(Role.ORGANISER)
def recheck_close(round_id: int):
    round_ = _round(round_id)
    with Refusal() as refusal:
        verdict, full = rechecks.close(round_, actor=current_user)
    if refusal.refused:
        return redirect(url_for("admin.recheck_round", round_id=round_.id))
    if full is not None:
        flash(verdict.message + " " + _("A full re-check of every entry has been opened."),
              "warning")
        return redirect(url_for("admin.recheck_round", round_id=full.id))
    flash(verdict.message, "success")
    return redirect(url_for("admin.recheck_round", round_id=round_.id))
