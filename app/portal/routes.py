"""The contestant portal (own entries) and the enterprise contact's view of its people."""
from __future__ import annotations

import segno
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from app.errors import abort_with
from app.extensions import db
from app.models import Entry, Role, Stage, StageEntry, Track
from app.portal.forms import EntryForm, ReviewForm
from app.security import roles_required
from app.services import FieldErrors, ServiceError
from app.services import entries as entry_service

bp = Blueprint("portal", __name__)

PORTAL = (Role.CONTESTANT, Role.ENTERPRISE_CONTACT)


@bp.route("/")
@roles_required(*PORTAL)
def home():
    """A contestant sees only their own entries; an enterprise contact only its enterprise's."""
    entries = db.session.scalars(entry_service.visible_entries(current_user)
                                 .options(*_ENTRY_PEOPLE)
                                 .order_by(Entry.contest_id.desc(), Entry.id)).all()
    return render_template("portal/home.html", entries=entries, review_form=ReviewForm(),
                           open_tracks=entry_service.open_tracks(),
                           can_correct=lambda e: entry_service.can_correct(current_user, e))


# What the portal's pages show of an entry, loaded with it (an enterprise contact's list would
# otherwise read each person, track and contest one query at a time).
_ENTRY_PEOPLE = (joinedload(Entry.contestant), joinedload(Entry.enterprise),
                 joinedload(Entry.track), joinedload(Entry.contest))


def _own_entry(entry_id: int) -> Entry:
    entry = db.session.scalar(entry_service.visible_entries(current_user)
                              .where(Entry.id == entry_id).options(*_ENTRY_PEOPLE))
    if entry is None:
        abort_with(404, _("No such entry."))
    return entry


def _track_choices(form: EntryForm) -> None:
    form.track.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(t.id), f"{t.contest.name} · {t.name}") for t in entry_service.open_tracks()]


@bp.route("/entries/new", methods=["GET", "POST"])
@roles_required(*PORTAL)
def new_entry():
    form = EntryForm()
    _track_choices(form)
    if current_user.role == Role.ENTERPRISE_CONTACT and current_user.enterprise:
        form.enterprise.data = current_user.enterprise.name
        form.enterprise.render_kw = {"readonly": True}
    if request.method == "GET" and current_user.role == Role.CONTESTANT:
        form.name.data = form.name.data or current_user.display_name
        form.phone.data = form.phone.data or current_user.phone
    if not form.track.choices[1:]:
        flash(_("No track is taking registrations at the moment."), "warning")
    if form.validate_on_submit():
        track = db.session.get(Track, int(form.track.data))
        try:
            entry = entry_service.register(current_user, track, form.values())
        except FieldErrors as error:
            form.show_errors(error.errors)
        except ServiceError as error:
            form.show_errors({error.field or "track": error.message})
        else:
            flash(_("Entry submitted. Its status is shown below."), "success")
            return redirect(url_for("portal.entry", entry_id=entry.id))
    return render_template("portal/entry_form.html", form=form, entry=None)


@bp.route("/entries/<int:entry_id>")
@roles_required(*PORTAL)
def entry(entry_id: int):
    from app.services.results import published_results_for

    entry = _own_entry(entry_id)
    return render_template("portal/entry.html", entry=entry,
                           can_correct=entry_service.can_correct(current_user, entry),
                           published=published_results_for(entry))


@bp.route("/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CONTESTANT)
def edit_entry(entry_id: int):
    entry = _own_entry(entry_id)
    if not entry_service.can_correct(current_user, entry):
        flash(_("This entry can no longer be changed."), "warning")
        return redirect(url_for("portal.entry", entry_id=entry.id))
    form = EntryForm(data=_form_data(entry) if request.method == "GET" else None)
    form.track.choices = [SelectChoice(str(entry.track_id), entry.track.name)]
    form.track.data = str(entry.track_id)
    form.id_number.render_kw = {"readonly": True}
    form.submit.label.text = _("Save and resubmit")
    if form.validate_on_submit():
        try:
            entry_service.correct(current_user, entry, form.values())
        except FieldErrors as error:
            db.session.rollback()
            form.show_errors(error.errors)
        except ServiceError as error:
            db.session.rollback()
            form.show_errors({error.field or "name": error.message})
        else:
            flash(_("Your changes have been saved."), "success")
            return redirect(url_for("portal.entry", entry_id=entry.id))
    return render_template("portal/entry_form.html", form=form, entry=entry)


def _form_data(entry: Entry) -> dict:
    person = entry.contestant
    return {"track": str(entry.track_id), "name": person.name,
            "gender": "男" if person.gender.value == "male" else "女",
            "id_number": person.id_number, "phone": person.phone,
            "enterprise": entry.enterprise.name,
            "enterprise_category": entry.enterprise_category, "city": entry.city,
            "post": entry.post, "team_name": entry.team_name,
            "years_as_leader": str(entry.years_as_leader), "skill_level": entry.skill_level,
            "honours": entry.honours, "front_line": entry.front_line}


@bp.route("/entries/<int:entry_id>/ticket")
@roles_required(*PORTAL)
def ticket(entry_id: int):
    """The admission ticket (准考证) of an approved entry, printable on A4."""
    entry = _own_entry(entry_id)
    if entry.exam_number is None:
        abort_with(404, _("The admission ticket is available once the entry is approved."))
    place = db.session.scalar(sa.select(StageEntry).join(StageEntry.stage)
                              .where(StageEntry.entry_id == entry.id).order_by(Stage.seq.desc()))
    qr = segno.make(f"{entry.contest.code}:{entry.exam_number}", error="m")
    return render_template("portal/ticket.html", entry=entry, place=place,
                           qr=qr.svg_data_uri(scale=4, border=2))


@bp.route("/entries/review", methods=["POST"])
@roles_required(Role.ENTERPRISE_CONTACT)
def review_entries():
    """The enterprise union endorses (or rejects) its people's submitted entries."""
    form = ReviewForm()
    ids = [int(i) for i in request.form.getlist("entry_id") if i.isdigit()]
    if not form.validate_on_submit() or not ids:
        flash(_("Choose at least one entry and an action."), "warning")
        return redirect(url_for("portal.home"))
    try:
        outcome = entry_service.review_many(ids, form.action.data, current_user, form.reason.data)
    except ServiceError as error:
        flash(error.message, "danger")
        return redirect(url_for("portal.home"))
    _flash_outcome(outcome)
    return redirect(url_for("portal.home"))


def _flash_outcome(outcome) -> None:
    if outcome.done:
        flash(_("%(n)d entries updated.", n=len(outcome.done)), "success")
    for entry_id, reason in outcome.skipped:
        flash(_("Entry %(id)d not changed: %(reason)s", id=entry_id, reason=reason), "warning")


from app.portal import appeals as appeal_pages  # noqa: E402,F401  (registers its pages on bp)
from app.portal import charts  # noqa: E402,F401  (registers its pages on bp)
