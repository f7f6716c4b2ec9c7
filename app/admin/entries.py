"""Organiser console: registrations — filters, counts, the review chain, export."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from app.admin import bp
from app.downloads import send_download
from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import parse_id
from app.labels import ENTRY_STATUS
from app.models import Contest, Enterprise, Entry, EntryStatus, Role, Track
from app.portal.forms import ReviewForm
from app.security import roles_required
from app.services import entries as entry_service
from app.services.exports import EXPORTERS

PAGE_SIZE = 50
FILTER_KEYS = ("contest", "track", "enterprise", "city", "category", "status", "q")


def _filter_from_request() -> tuple[entry_service.EntryFilter, dict]:
    """The list's filters from the query string (or the form of a bulk action)."""
    args = {key: (request.values.get(key) or "").strip() for key in FILTER_KEYS}
    status = args["status"] if args["status"] in {s.value for s in EntryStatus} else None
    return entry_service.EntryFilter(
        contest_id=_int(args["contest"]), track_id=_int(args["track"]),
        enterprise_id=_int(args["enterprise"]), city=args["city"] or None,
        category=args["category"] or None, status=EntryStatus(status) if status else None,
        search=args["q"] or None), args


def _int(value: str) -> int | None:
    return parse_id(value)


def list_place() -> dict[str, str]:
    """Where the organiser was on the list (its filters and page), from the query string or the
    form of an action, to keep in the links back to it."""
    place = {key: (request.values.get(key) or "").strip() for key in (*FILTER_KEYS, "page")}
    if place["page"] and parse_id(place["page"]) is None:
        place["page"] = ""
    return {key: value for key, value in place.items() if value}


@bp.route("/entries")
@roles_required(Role.ORGANISER)
def entries():
    entry_filter, args = _filter_from_request()
    query = entry_filter.apply(sa.select(Entry))
    # each row's person, enterprise and track in the page's one query, never one per row
    page = db.paginate(query.order_by(Entry.id.desc()).options(
        joinedload(Entry.contestant), joinedload(Entry.enterprise), joinedload(Entry.track)),
        per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "admin/entries.html", page=page, args=args, place=list_place(),
        counts=entry_service.counts(query),
        enterprises=entry_service.enterprise_counts(query, limit=15),
        contests=db.session.scalars(sa.select(Contest).order_by(Contest.year.desc())).all(),
        tracks=db.session.scalars(sa.select(Track).order_by(Track.contest_id, Track.sort_order)).all(),
        enterprise_options=db.session.execute(
            sa.select(Enterprise.id, Enterprise.name).order_by(Enterprise.name)).all(),
        cities=entry_service.CITIES, status_labels=ENTRY_STATUS, review_form=ReviewForm())


@bp.route("/entries/<int:entry_id>")
@roles_required(Role.ORGANISER)
def entry(entry_id: int):
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort_with(404, _("No such entry."))
    return render_template("admin/entry.html", entry=entry, review_form=ReviewForm(),
                           full_id=None, place=list_place())


@bp.route("/entries/<int:entry_id>/id-number", methods=["POST"])
@roles_required(Role.ORGANISER)
def reveal_id_number(entry_id: int):
    """Show the full ID number once, and record who looked."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort_with(404, _("No such entry."))
    full_id = entry_service.reveal_id_number(entry, current_user)
    return render_template("admin/entry.html", entry=entry, review_form=ReviewForm(),
                           full_id=full_id, place=list_place())


@bp.route("/entries/<int:entry_id>/review", methods=["POST"])
@roles_required(Role.ORGANISER)
def review_entry(entry_id: int):
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort_with(404, _("No such entry."))
    form, place = ReviewForm(), list_place()
    if not form.validate_on_submit():  # e.g. a reason with a control character
        return render_template("admin/entry.html", entry=entry, review_form=form,
                               full_id=None, place=place)
    with Refusal(form):
        entry_service.review(entry, form.action.data, current_user, form.reason.data)
        flash(_("Entry updated: %(status)s.", status=ENTRY_STATUS[entry.status]), "success")
        return redirect(url_for("admin.entry", entry_id=entry.id, **place))
    return render_template("admin/entry.html", entry=entry, review_form=form, full_id=None,
                           place=place)


@bp.route("/entries/review", methods=["POST"])
@roles_required(Role.ORGANISER)
def review_entries():
    """One review step for the entries ticked on the list."""
    form = ReviewForm()
    ids = [i for i in map(parse_id, request.form.getlist("entry_id")) if i is not None]
    back = url_for("admin.entries", **list_place())
    if not form.validate_on_submit() or not ids:
        flash(_("Choose at least one entry and an action."), "warning")
        return redirect(back)
    with Refusal() as refusal:
        outcome = entry_service.review_many(ids, form.action.data, current_user, form.reason.data)
    if refusal.refused:
        return redirect(back)
    if outcome.done:
        flash(_("%(n)d entries updated.", n=len(outcome.done)), "success")
    for entry_id, reason in outcome.skipped[:20]:
        flash(_("Entry %(id)d not changed: %(reason)s", id=entry_id, reason=reason), "warning")
    if len(outcome.skipped) > 20:
        flash(_("%(n)d more entries not changed.", n=len(outcome.skipped) - 20), "warning")
    return redirect(back)


@bp.route("/entries/export", methods=["POST"])
@roles_required(Role.ORGANISER)
def export_entries():
    """The filtered list as .xlsx; full ID numbers only when asked for, and audited."""
    entry_filter, _args = _filter_from_request()
    full_ids = request.form.get("full_ids") == "1"
    track = db.session.get(Track, entry_filter.track_id) if entry_filter.track_id else None
    title = (f"{track.contest.name} {track.name} " if track else "") + _("Registration list")
    path = EXPORTERS["entries"](entry_filter.apply(sa.select(Entry)), title=title,
                                full_ids=full_ids, actor=current_user)

    return send_download(path, f"{title}.xlsx".replace(" ", ""), fallback="registrations.xlsx",
                         delete=True)
