"""Organiser console: contestants' accounts, admission tickets and sign-in sheets of a track."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.contest_forms import ConfirmForm
from app.admin.entries import list_place
from app.admin.exports import send_export
from app.errors import Refusal, abort_with
from app.extensions import db
from app.models import (
    Contestant,
    Enterprise,
    Entry,
    EntryStatus,
    InitialPassword,
    Role,
    Sitting,
    Stage,
    Track,
)
from app.security import roles_required
from app.services import contestant_accounts as account_service
from app.services import tickets
from app.services.exports import EXPORTERS

#: Tickets per printed batch: a print run of a whole preliminary (1,400 A4 pages) goes out in
#: batches a browser renders and prints at once.
TICKETS_PER_BATCH = 100


def _get(model, ident: int, message: str):
    found = db.session.get(model, ident)
    if found is None:
        abort_with(404, message)
    return found


def _int_arg(name: str) -> int | None:
    value = (request.args.get(name) or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _account_counts(track: Track) -> dict[str, int]:
    approved = (sa.select(Entry.contestant_id).where(
        Entry.track_id == track.id, Entry.status == EntryStatus.APPROVED,
        Entry.exam_number.is_not(None)))
    people = sa.select(Contestant.user_id).where(Contestant.id.in_(approved))
    with_account = db.session.scalar(sa.select(sa.func.count()).select_from(
        people.where(Contestant.user_id.is_not(None)).subquery())) or 0
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(InitialPassword).where(
        InitialPassword.user_id.in_(people))) or 0
    total = db.session.scalar(sa.select(sa.func.count()).select_from(approved.subquery())) or 0
    return {"approved": total, "with_account": with_account, "without_account": total - with_account,
            "waiting": waiting, "signed_in": with_account - waiting}


@bp.route("/tracks/<int:track_id>/contestants")
@roles_required(Role.ORGANISER)
def track_contestants(track_id: int):
    """Accounts for the track's approved entries, the enterprises' account lists, admission
    tickets by stage, sitting or enterprise, and each sitting's sign-in sheet."""
    track = _get(Track, track_id, _("No such track."))
    enterprises = db.session.execute(
        sa.select(Enterprise.id, Enterprise.name, sa.func.count(Entry.id))
        .join(Entry, Entry.enterprise_id == Enterprise.id)
        .where(Entry.track_id == track.id, Entry.status == EntryStatus.APPROVED)
        .group_by(Enterprise.id, Enterprise.name).order_by(Enterprise.name)).all()
    return render_template("admin/track_contestants.html", track=track, contest=track.contest,
                           counts=_account_counts(track), enterprises=enterprises,
                           confirm=ConfirmForm())


@bp.route("/tracks/<int:track_id>/contestants/accounts", methods=["POST"])
@roles_required(Role.ORGANISER)
def create_contestant_accounts(track_id: int):
    track = _get(Track, track_id, _("No such track."))
    if ConfirmForm().validate_on_submit():
        made = account_service.create_accounts(track, actor=current_user)
        if made.created:
            flash(_("%(n)d accounts created with initial passwords; %(already)d people already "
                    "had one. Print the admission tickets or download the enterprises' account "
                    "lists to hand them out.", n=len(made.created), already=made.already),
                  "success")
        else:
            flash(_("Every person with an approved entry already has an account (%(n)d).",
                    n=made.already), "info")
    return redirect(url_for("admin.track_contestants", track_id=track.id))


@bp.route("/tracks/<int:track_id>/contestants/accounts.xlsx")
@roles_required(Role.ORGANISER)
def export_contestant_accounts(track_id: int):
    """The account lists with initial passwords, one worksheet per enterprise (or one
    enterprise's); audited."""
    track = _get(Track, track_id, _("No such track."))
    query = sa.select(Entry).where(Entry.track_id == track.id)
    enterprise_id = _int_arg("enterprise")
    name = f"{track.contest.name} {track.name} 选手账号清单"
    if enterprise_id is not None:
        enterprise = _get(Enterprise, enterprise_id, _("No such enterprise."))
        query = query.where(Entry.enterprise_id == enterprise.id)
        path = EXPORTERS["accounts"](query, title=name, actor=current_user)
        return send_export(path, f"{track.name}选手账号清单-{enterprise.name}.xlsx",
                           "contestant-accounts.xlsx")
    path = EXPORTERS["accounts"](query, title=name, actor=current_user)
    return send_export(path, f"{track.name}选手账号清单.xlsx", "contestant-accounts.xlsx")


@bp.route("/tracks/<int:track_id>/tickets")
@roles_required(Role.ORGANISER)
def print_tickets(track_id: int):
    """Admission tickets of the track's approved entries, one per A4 page: all of them, or one
    stage's, one sitting's or one enterprise's."""
    track = _get(Track, track_id, _("No such track."))
    stage = sitting = enterprise = None
    parts = [track.contest.name, track.name]
    stage_id_arg = None
    if (sitting_id := _int_arg("sitting")) is not None:
        sitting = _get(Sitting, sitting_id, _("No such sitting."))
        stage = sitting.stage
        if stage.track_id != track.id:
            abort_with(404, _("No such sitting."))
        parts += [stage.name, sitting.name]
    elif (stage_id_arg := _int_arg("stage")) is not None:
        stage = _get(Stage, stage_id_arg, _("No such stage."))
        if stage.track_id != track.id:
            abort_with(404, _("No such stage."))
        parts.append(stage.name)
    if (enterprise_id := _int_arg("enterprise")) is not None:
        enterprise = _get(Enterprise, enterprise_id, _("No such enterprise."))
        parts.append(enterprise.name)
    query = tickets.tickets_query(track.id, stage_id=stage.id if stage else None,
                                  sitting_id=sitting.id if sitting else None,
                                  enterprise_id=enterprise.id if enterprise else None)
    total = tickets.ticket_count(query)
    batches = max(1, -(-total // TICKETS_PER_BATCH))
    batch = min(max(1, request.args.get("batch", 1, type=int) or 1), batches)
    found = tickets.admission_tickets(query, stage=stage, limit=TICKETS_PER_BATCH,
                                      offset=(batch - 1) * TICKETS_PER_BATCH)
    here = {key: value for key, value in (("stage", stage_id_arg), ("sitting", sitting_id),
                                          ("enterprise", enterprise_id)) if value is not None}
    return render_template(
        "portal/ticket.html", tickets=found, total=total, batch=batch,
        tickets_per_batch=TICKETS_PER_BATCH,
        batch_links=[(n, url_for("admin.print_tickets", track_id=track.id, batch=n, **here),
                      (n - 1) * TICKETS_PER_BATCH + 1, min(n * TICKETS_PER_BATCH, total))
                     for n in range(1, batches + 1)] if batches > 1 else [],
        heading=_("Admission tickets: %(what)s", what=" ".join(parts)),
        back=url_for("admin.track_contestants", track_id=track.id))


def _stage_and_sitting(stage_id: int) -> tuple[Stage, Sitting | None]:
    stage = _get(Stage, stage_id, _("No such stage."))
    sitting = None
    if (sitting_id := _int_arg("sitting")) is not None:
        sitting = _get(Sitting, sitting_id, _("No such sitting."))
        if sitting.stage_id != stage.id:
            abort_with(404, _("No such sitting."))
    return stage, sitting


@bp.route("/stages/<int:stage_id>/signin-sheets")
@roles_required(Role.ORGANISER)
def signin_sheets(stage_id: int):
    """Each sitting's sign-in sheet (签到表), one sitting per printed page set."""
    stage, sitting = _stage_and_sitting(stage_id)
    return render_template("admin/signin_sheets.html", stage=stage, track=stage.track,
                           sheets=tickets.signin_sheets(stage, sitting=sitting), sitting=sitting)


@bp.route("/stages/<int:stage_id>/signin-sheets.xlsx")
@roles_required(Role.ORGANISER)
def export_signin_sheets(stage_id: int):
    """The sign-in sheets as Excel, one worksheet per sitting; audited."""
    stage, sitting = _stage_and_sitting(stage_id)
    path = EXPORTERS["signin"](stage, sitting=sitting, actor=current_user)
    suffix = f"-{sitting.name}" if sitting else ""
    return send_export(path, f"{stage.track.name}{stage.name}签到表{suffix}.xlsx",
                       "signin-sheets.xlsx")


@bp.route("/entries/<int:entry_id>/initial-password", methods=["POST"])
@roles_required(Role.ORGANISER)
def reissue_initial_password(entry_id: int):
    """A new initial password for the person of an entry (a lost ticket, a forgotten password);
    shown on the next printed ticket and account list."""
    entry = _get(Entry, entry_id, _("No such entry."))
    user = entry.contestant.user
    if user is None:
        abort_with(404, _("This person has no account yet."))
    if ConfirmForm().validate_on_submit():
        with Refusal():
            account_service.reissue_initial_password(user, actor=current_user)
            flash(_("A new initial password has been made for %(name)s: print the admission "
                    "ticket to hand it out.", name=entry.contestant.name), "success")
    return redirect(url_for("admin.entry", entry_id=entry.id, **list_place()))
