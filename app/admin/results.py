"""Organiser console: results versions, advancement lists, public notice and objections."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from app.admin import bp
from app.admin.confirm import ask, confirmed
from app.display import display_datetime
from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import parse_id, text_problem
from app.labels import RESULT_STATUS
from app.models import (
    AdvancementEntry,
    AdvancementEntryStatus,
    AdvancementList,
    Entry,
    ListStatus,
    Objection,
    ResultsVersion,
    Role,
    Stage,
    StageEntry,
)
from app.security import roles_required
from app.services import (
    FieldErrors,
    ServiceError,
    appeals,
    confirmations,
    eligibility,
    results,
)

PAGE_SIZE = 100
LIST_PAGE_SIZE = 100  # an advancement list's rows per page: a list of 60 and its reserves
CHANGES_PAGE_SIZE = 50  # contestants whose lines differ from the previous version, per page


def _stage(stage_id: int) -> Stage:
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    return stage


@bp.route("/results")
@roles_required(Role.ORGANISER)
def results_overview():
    return render_template("admin/results_overview.html", rows=results.stages_overview())


@bp.route("/stages/<int:stage_id>/results", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def stage_results(stage_id: int):
    stage = _stage(stage_id)
    if request.method == "POST":
        with Refusal():
            version = results.create_version(
                stage, actor=current_user, reason=request.form.get("reason"),
                appeals=appeals.by_ids(request.form.getlist("appeal_id")))
            flash(_("Version %(n)d computed as a draft.", n=version.number), "success")
            return redirect(url_for("admin.results_version", version_id=version.id))
    versions = db.session.scalars(sa.select(ResultsVersion).where(
        ResultsVersion.stage_id == stage.id).order_by(ResultsVersion.number.desc())).all()
    lists = db.session.scalars(sa.select(AdvancementList).where(
        AdvancementList.stage_id == stage.id).order_by(AdvancementList.id.desc())).all()
    return render_template("admin/stage_results.html", stage=stage, versions=versions,
                           lists=lists, problems=results.readiness(stage),
                           newer={listing.id: results.undecided_newer_version(listing)
                                  for listing in lists})


def _version(version_id: int) -> ResultsVersion:
    version = db.session.get(ResultsVersion, version_id)
    if version is None:
        abort_with(404, _("No such results version."))
    return version


@bp.route("/results/<int:version_id>")
@roles_required(Role.ORGANISER)
def results_version(version_id: int):
    version = _version(version_id)
    page = min(max(1, request.args.get("page", 1, type=int)), db.MAX_PAGE)
    rows, total = results.version_page(version, page, PAGE_SIZE)  # one page, read in SQL
    places = {p.id: p for p in db.session.scalars(sa.select(StageEntry).where(
        StageEntry.id.in_([int(i) for i in rows["entry_id"]])).options(
        joinedload(StageEntry.entry).joinedload(Entry.contestant),
        joinedload(StageEntry.entry).joinedload(Entry.enterprise)))}
    changes_after = min(max(0, request.args.get("changes_after", 0, type=int)), 2**62)
    changes, next_changes = (results.differences_page(version, after=changes_after,
                                                      limit=CHANGES_PAGE_SIZE)
                             if version.previous_id else (None, None))
    reveal = results.names_revealed(version.stage)
    lines = rows.astype(object).where(rows.notna(), None).to_dict("records")  # NA → None
    if changes is not None:
        changes = results.differences_in_words(version, changes,
                                               reveal=results.names_revealed(version.stage))
    return render_template(
        "admin/results_version.html", version=version, rows=lines, places=places, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), total=total,
        components=version.settings["components"], reveal=reveal, changes=changes, changes_after=changes_after, next_changes=next_changes,
        lists=[(listing, results.undecided_newer_version(listing))
               for listing in db.session.scalars(sa.select(AdvancementList).where(
                   AdvancementList.version_id == version.id).order_by(AdvancementList.id))],
        # each status translated once, not once per row (a lazy string looks the locale up)
        result_status_labels={code: str(label) for code, label in RESULT_STATUS.items()},
        tie_break_names=results.tie_break_names(version))


@bp.route("/results/<int:version_id>/export")
@roles_required(Role.ORGANISER)
def export_results(version_id: int):
    """The version as an .xlsx sheet (names only once every judged component is decrypted)."""
    from app.downloads import send_download
    from app.services import audit
    from app.services.exports import EXPORTERS

    version = _version(version_id)
    reveal = results.names_revealed(version.stage)
    path = EXPORTERS["results"](version, reveal_names=reveal)
    if reveal:  # names next to scores: who took them away is recorded
        audit.record("results.export", version, f"{current_user.username} 导出含姓名的成绩："
                     f"{version.stage.track.name}·{version.stage.name} 第{version.number}版",
                     actor=current_user, stage_id=version.stage_id)

    stage = version.stage
    return send_download(path, f"{stage.track.name}{stage.name}成绩第{version.number}版.xlsx",
                         fallback=f"results-v{version.number}.xlsx", delete=True)


@bp.route("/results/<int:version_id>/publish", methods=["POST"])
@roles_required(Role.ORGANISER)
def publish_results(version_id: int):
    version = _version(version_id)
    with Refusal():
        confirmation = confirmations.publish(version)
        if not confirmed(confirmation):
            return ask(confirmation,
                       cancel=url_for("admin.results_version", version_id=version.id))
        results.publish(version, actor=current_user)
        flash(_("Version %(n)d published.", n=version.number), "success")
    return redirect(url_for("admin.results_version", version_id=version.id))


@bp.route("/results/<int:version_id>/advancement", methods=["POST"])
@roles_required(Role.ORGANISER)
def generate_advancement(version_id: int):
    version = _version(version_id)
    with Refusal() as refusal:
        listing = results.generate_list(version, actor=current_user)
    if refusal.refused:
        return redirect(url_for("admin.results_version", version_id=version.id))
    flash(_("The advancement list has been drawn up."), "success")
    return redirect(url_for("admin.advancement_list", list_id=listing.id))


def _listing(list_id: int) -> AdvancementList:
    listing = db.session.get(AdvancementList, list_id)
    if listing is None:
        abort_with(404, _("No such advancement list."))
    return listing


@bp.route("/lists/<int:list_id>")
@roles_required(Role.ORGANISER)
def advancement_list(list_id: int):
    return _list_page(_listing(list_id), {})


def _list_rows(query: sa.Select) -> sa.Select:
    """A list's rows with each one's person and enterprise in the same query."""
    place = joinedload(AdvancementEntry.stage_entry).joinedload(StageEntry.entry)
    return query.options(place.joinedload(Entry.contestant), place.joinedload(Entry.enterprise))


def _list_page(listing: AdvancementList, errors: dict, status: int = 200):
    """The list a page at a time (its advancers, removals and cap skips come first, by
    position, so the list proper sits on the first page; the reserves follow), with the
    advancers an objection can name: a fixed number of queries however long the list."""
    objections = db.session.scalars(sa.select(Objection).where(
        Objection.list_id == listing.id).order_by(Objection.id)).all()
    rows = sa.select(AdvancementEntry).where(AdvancementEntry.list_id == listing.id)
    page = db.paginate(_list_rows(rows.order_by(AdvancementEntry.position)),
                       per_page=LIST_PAGE_SIZE, error_out=False)
    advancing = (db.session.scalars(_list_rows(rows.where(
        AdvancementEntry.status == AdvancementEntryStatus.ADVANCING)
        .order_by(AdvancementEntry.position))).all()
        if listing.status == ListStatus.NOTICE else [])
    return render_template(
        "admin/advancement_list.html", listing=listing, objections=objections, errors=errors,
        page=page, advancing=advancing,
        newer=results.undecided_newer_version(listing), amendments=results.amendments(listing),
        blockers=(results.finalise_blockers(listing) if listing.status == ListStatus.NOTICE
                  else []),
        successor=(results.replacement_list(listing)
                   if listing.status == ListStatus.WITHDRAWN else None),
        latest=results.latest_published(listing.stage)), status


@bp.route("/lists/<int:list_id>/withdraw", methods=["POST"])
@roles_required(Role.ORGANISER)
def withdraw_list(list_id: int):
    """Withdraw a draft list or one under notice, with the reason (confirmed first)."""
    listing = _listing(list_id)
    reason = request.form.get("reason", "")
    if not reason.strip() or text_problem(reason):
        return _list_page(listing, {"withdraw_reason": text_problem(reason) or _(
            "Say why the list is withdrawn: the public notice shows it.")}, 422)
    with Refusal():
        confirmation = confirmations.withdraw(listing)
        if not confirmed(confirmation):
            return ask(confirmation, carry={"reason": reason},
                       cancel=url_for("admin.advancement_list", list_id=listing.id))
        results.withdraw_list(listing, reason=reason, actor=current_user)
        flash(_("The list is withdrawn; draw up a new one from the published version."),
              "success")
    return redirect(url_for("admin.advancement_list", list_id=listing.id))


@bp.route("/lists/<int:list_id>/keep", methods=["POST"])
@roles_required(Role.ORGANISER)
def keep_list(list_id: int):
    """Keep a list although a newer version was published, with the reason (confirmed first)."""
    listing = _listing(list_id)
    reason = request.form.get("reason", "")
    if not reason.strip() or text_problem(reason):
        return _list_page(listing, {"keep_reason": text_problem(reason) or _(
            "Say why the list is kept: the public notice shows it.")}, 422)
    with Refusal():
        confirmation = confirmations.keep(listing)
        if not confirmed(confirmation):
            return ask(confirmation, carry={"reason": reason},
                       cancel=url_for("admin.advancement_list", list_id=listing.id))
        results.keep_list(listing, reason=reason, actor=current_user)
        flash(_("The list is kept; the decision is on the public notice."), "success")
    return redirect(url_for("admin.advancement_list", list_id=listing.id))


@bp.route("/lists/<int:list_id>/notice", methods=["POST"])
@roles_required(Role.ORGANISER)
def start_notice(list_id: int):
    listing = _listing(list_id)
    with Refusal():
        results.start_notice(listing, actor=current_user)
        flash(_("The list is under public notice until %(when)s.",
                when=display_datetime(listing.notice_ends_at)), "success")
    return redirect(url_for("admin.advancement_list", list_id=listing.id))


@bp.route("/lists/<int:list_id>/objections", methods=["POST"])
@roles_required(Role.ORGANISER)
def record_objection(list_id: int):
    listing = _listing(list_id)
    target_id = parse_id(request.form.get("advancement_entry_id"))
    target = db.session.get(AdvancementEntry, target_id) if target_id else None
    refusal = Refusal(fields=("filed_by_name", "contact", "text"))  # the fields the page shows
    with refusal:
        if target is None:
            raise FieldErrors({"advancement_entry_id": _("Objections concern a contestant on "
                                                         "the list.")})
        results.record_objection(listing, target, filed_by=request.form.get("filed_by_name", ""),
                                 contact=request.form.get("contact"),
                                 text=request.form.get("text", ""), actor=current_user)
        flash(_("The objection has been recorded."), "success")
    if refusal.errors:
        return _list_page(listing, refusal.errors)
    return redirect(url_for("admin.advancement_list", list_id=listing.id))


@bp.route("/objections/<int:objection_id>/ruling", methods=["POST"])
@roles_required(Role.ORGANISER)
def rule_objection(objection_id: int):
    objection = db.session.get(Objection, objection_id)
    if objection is None:
        abort_with(404, _("No such objection."))
    upheld = request.form.get("decision") == "upheld"
    ruling = request.form.get("ruling", "")
    with Refusal():
        if text_problem(ruling):  # refused before a confirmation is asked
            raise ServiceError(text_problem(ruling), field="ruling")
        if upheld:  # removing an advancer is confirmed first
            confirmation = confirmations.upheld_objection(objection, ruling)
            if not confirmed(confirmation):
                return ask(confirmation, carry={"decision": "upheld", "ruling": ruling},
                           cancel=url_for("admin.advancement_list", list_id=objection.list_id))
        replacement = results.rule_on_objection(objection, upheld=upheld, ruling=ruling,
                                                actor=current_user)
        flash(_("Ruling recorded.") + (" " + _("A replacement takes the place.")
                                       if replacement else ""), "success")
        if upheld and replacement is None and eligibility.uses_pool(objection_stage(objection)):
            flash(_("No confirmed member of the eligibility pool can take the place yet: it "
                    "is filled as soon as one is confirmed on the eligibility page."), "warning")
    return redirect(url_for("admin.advancement_list", list_id=objection.list_id))


def objection_stage(objection: Objection) -> Stage:
    return db.session.get(AdvancementList, objection.list_id).stage


@bp.route("/lists/<int:list_id>/finalise", methods=["POST"])
@roles_required(Role.ORGANISER)
def finalise_list(list_id: int):
    listing = _listing(list_id)
    with Refusal():
        confirmation = confirmations.finalise(listing)
        if not confirmed(confirmation):
            return ask(confirmation,
                       cancel=url_for("admin.advancement_list", list_id=listing.id))
        moved = results.finalise(listing, actor=current_user)
        flash(_("The list is final; %(n)d contestants enter the next stage.", n=moved), "success")
    return redirect(url_for("admin.advancement_list", list_id=listing.id))
