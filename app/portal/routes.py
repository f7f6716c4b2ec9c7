"""The contestant portal (own entries) and the enterprise contact's view of its people."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from app.display import track_label
from app.errors import Refusal, abort_with
from app.extensions import db, limiter
from app.inputs import parse_id
from app.models import Contestant, Entry, Role, Track
from app.portal import bp
from app.portal.forms import ClaimForm, EntryForm, ReviewForm
from app.security import roles_required
from app.services import contestant_accounts as account_service
from app.services import entries as entry_service
from app.services import standings, tickets
from app.transaction import commit_despite_refusal

PORTAL = (Role.CONTESTANT, Role.ENTERPRISE_CONTACT)


@bp.route("/")
@roles_required(*PORTAL)
def home():
    """A contestant sees only their own entries; an enterprise contact only its enterprise's."""
    entries = db.session.scalars(entry_service.visible_entries(current_user)
                                 .options(*_ENTRY_PEOPLE)
                                 .order_by(Entry.contest_id.desc(), Entry.id)).all()
    may_claim = (current_user.role == Role.CONTESTANT and db.session.scalar(
        sa.select(Contestant.id).where(Contestant.user_id == current_user.id)) is None)
    return render_template("portal/home.html", entries=entries, review_form=ReviewForm(),
                           open_tracks=entry_service.open_tracks(),
                           standings=standings.latest(entries), may_claim=may_claim,
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
        SelectChoice(str(t.id), track_label(t.contest.name, t.contest.year, t.name)) for t in entry_service.open_tracks()]


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
        track = db.session.get(Track, parse_id(form.track.data) or 0)
        with Refusal(form, default="track"):
            entry = entry_service.register(current_user, track, form.values())
            flash(_("Entry submitted. Its status is shown below."), "success")
            return redirect(url_for("portal.entry", entry_id=entry.id))
    return render_template("portal/entry_form.html", form=form, entry=None)


@bp.route("/entries/<int:entry_id>")
@roles_required(*PORTAL)
def entry(entry_id: int):
    """One's own entry with its published results. Rendered once per change of the data it
    shows (the page cache, keyed on the signed-in account too: app/page_cache.py), and until
    the track's registration window opens or closes (which the 修改 button follows)."""
    from app import page_cache

    return page_cache.cached(("entry", entry_id), lambda: _entry_page(entry_id))


def _entry_page(entry_id: int):
    from app import page_cache

    entry = _own_entry(entry_id)
    page_cache.valid_until(entry_service.registration_changes_at(entry.track))
    return render_template("portal/entry.html", entry=entry,
                           can_correct=entry_service.can_correct(current_user, entry),
                           published=standings.standings([entry], with_components=True)[entry.id])


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
        with Refusal(form, default="name"):
            entry_service.correct(current_user, entry, form.values())
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
    ticket = tickets.admission_tickets(sa.select(Entry).where(Entry.id == entry.id))[0]
    return render_template("portal/ticket.html", tickets=[ticket], single=True)


def _claim_limit() -> str:
    return current_app.config["CLAIM_RATE_LIMIT"]


def _claimant() -> str:
    return f"claim|{current_user.get_id() if current_user.is_authenticated else '-'}"


@bp.route("/claim", methods=["GET", "POST"])
@limiter.limit(_claim_limit, methods=["POST"], key_func=_claimant)
@roles_required(Role.CONTESTANT)
def claim():
    """A contestant whose entry an enterprise or the organisers made links it to this account
    by the ID number, name and mobile number it was registered with; every attempt audited."""
    form = ClaimForm()
    if form.validate_on_submit():
        raw = {"id_number": form.id_number.data, "name": form.name.data, "phone": form.phone.data}
        refusal = Refusal(form, default="id_number")
        with refusal:
            person = account_service.claim_entry(current_user, raw)
            flash(_("The entries of %(name)s are now in your account.", name=person.name),
                  "success")
            return redirect(url_for("portal.home"))
        if refusal.refused:  # the attempt is undone; only its audit row is kept
            account_service.record_refused_claim(current_user, raw, refusal.error.message)
            commit_despite_refusal()
    return render_template("portal/claim.html", form=form)


@bp.route("/accounts.xlsx")
@roles_required(Role.ENTERPRISE_CONTACT)
def export_accounts():
    """The enterprise contact's own people's accounts and initial passwords, to hand out."""
    from app.admin.exports import send_export
    from app.services.exports import EXPORTERS

    if current_user.enterprise is None:
        abort_with(404, _("Your account is not linked to an enterprise."))
    query = sa.select(Entry).where(Entry.enterprise_id == current_user.enterprise_id)
    path = EXPORTERS["accounts"](query, title=f"{current_user.enterprise.name} 选手账号清单",
                                 actor=current_user)
    return send_export(path, f"{current_user.enterprise.name}选手账号清单.xlsx",
                       "contestant-accounts.xlsx")


@bp.route("/entries/review", methods=["POST"])
@roles_required(Role.ENTERPRISE_CONTACT)
def review_entries():
    """The enterprise union endorses (or rejects) its people's submitted entries."""
    form = ReviewForm()
    ids = [i for i in map(parse_id, request.form.getlist("entry_id")) if i is not None]
    if not form.validate_on_submit() or not ids:
        flash(_("Choose at least one entry and an action."), "warning")
        return redirect(url_for("portal.home"))
    with Refusal() as refusal:
        outcome = entry_service.review_many(ids, form.action.data, current_user, form.reason.data)
    if refusal.refused:
        return redirect(url_for("portal.home"))
    _flash_outcome(outcome)
    return redirect(url_for("portal.home"))


def _flash_outcome(outcome) -> None:
    if outcome.done:
        flash(_("%(n)d entries updated.", n=len(outcome.done)), "success")
    for entry_id, reason in outcome.skipped:
        flash(_("Entry %(id)d not changed: %(reason)s", id=entry_id, reason=reason), "warning")
