"""Organiser console: contests, tracks, abilities, stages, components and weights, marking
schemes, and sittings. Each view checks access, validates a form, calls one service, and
renders or redirects; a refused change is rolled back and its messages shown next to fields."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_user_timezone, to_utc
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import labels
from app.admin import bp
from app.admin.contest_forms import (
    AbilityForm,
    AssignForm,
    ComponentsForm,
    ConfirmForm,
    ContestForm,
    CopyContestForm,
    MarkingNodeForm,
    MoveForm,
    SittingForm,
    StageForm,
    StatusForm,
    TrackForm,
)
from app.errors import Refusal, abort_with
from app.extensions import db
from app.inputs import parse_id, refuse_form
from app.models import (
    Ability,
    Component,
    Contest,
    MarkingItem,
    MarkingNode,
    Role,
    Sitting,
    Stage,
    Track,
)
from app.security import roles_required
from app.services import contests as contest_service
from app.services import marking_schemes as scheme_service
from app.services import sittings as sitting_service
from app.services import stage_flow
from app.services import stages as stage_service


def _get(model, object_id: int, message: str):
    found = db.session.get(model, object_id)
    if found is None:
        abort_with(404, message)
    return found


def _local(moment: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as the display time zone's wall clock, for a form."""
    return to_user_timezone(moment).replace(tzinfo=None) if moment else None


def _utc(moment: datetime | None) -> datetime | None:
    return to_utc(moment) if moment else None


@bp.app_template_filter("plain")
def plain_decimal(value) -> str:
    """40.00 → 40, 12.50 → 12.5: exact, without the column's trailing zeros."""
    if value is None:
        return ""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@bp.context_processor
def configuration_labels() -> dict:
    return {"stage_kind_labels": labels.STAGE_KIND, "item_kind_labels": labels.ITEM_KIND,
            "marking_node_labels": labels.MARKING_NODE,
            "disqualify_scope_labels": labels.DISQUALIFY_SCOPE}


# ---------------------------------------------------------------------------------------------
# Contests


@bp.route("/contests")
@roles_required(Role.ORGANISER)
def contests():
    return render_template("admin/contests.html", contests=contest_service.contests(),
                           confirm=ConfirmForm())


def _contest_values(form: ContestForm) -> dict:
    return {name: getattr(form, name).data for name in contest_service.CONTEST_FIELDS}


@bp.route("/contests/new", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def new_contest():
    form = ContestForm()
    if request.method == "GET":
        form.year.data = datetime.now().year
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            contest = contest_service.create_contest(_contest_values(form), actor=current_user)
            flash(_("Contest %(code)s created.", code=contest.code), "success")
            return redirect(url_for("admin.contest", contest_id=contest.id))
    templates = [c for c in contest_service.contests() if c.is_template]
    return render_template("admin/contest_form.html", form=form, errors=refusal.errors, contest=None,
                           templates=templates)


@bp.route("/contests/<int:contest_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def contest(contest_id: int):
    contest = _get(Contest, contest_id, _("No such contest."))
    form = ContestForm(obj=contest)
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            contest_service.update_contest(contest, _contest_values(form), actor=current_user)
            flash(_("Contest %(code)s saved.", code=contest.code), "success")
            return redirect(url_for("admin.contest", contest_id=contest.id))
    return _contest_page(contest, form, AbilityForm(formdata=None), refusal.errors)


def _contest_page(contest: Contest, form: ContestForm, ability_form: AbilityForm,
                  errors: dict[str, str]):
    return render_template("admin/contest.html", contest=contest, form=form,
                           ability_form=ability_form, errors=errors, confirm=ConfirmForm(),
                           entries=_entry_counts(contest))


def _entry_counts(contest: Contest) -> dict[int, int]:
    from app.services.dashboard import entries_by_status

    return {row["track"].id: row["total"] for row in entries_by_status(contest)}


@bp.route("/contests/<int:contest_id>/copy", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def copy_contest(contest_id: int):
    """Next year's contest from this one (or from a template): its configuration, no people."""
    source = _get(Contest, contest_id, _("No such contest."))
    form = CopyContestForm(data=contest_service.suggested_copy(source)
                           if request.method == "GET" else None)
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            copy = contest_service.copy_contest(source, form.data, actor=current_user)
            flash(_("Contest %(code)s copied from %(source)s: every stage is in draft; check "
                    "the dates and sittings.", code=copy.code, source=source.code), "success")
            return redirect(url_for("admin.contest", contest_id=copy.id))
    return render_template("admin/contest_copy.html", form=form, source=source,
                           errors=refusal.errors)


@bp.route("/contests/<int:contest_id>/delete", methods=["POST"])
@roles_required(Role.ORGANISER)
def delete_contest(contest_id: int):
    contest = _get(Contest, contest_id, _("No such contest."))
    if ConfirmForm().validate_on_submit():
        code = contest.code
        with Refusal():
            contest_service.delete_contest(contest, actor=current_user)
            flash(_("Contest %(code)s deleted.", code=code), "success")
            return redirect(url_for("admin.contests"))
        return redirect(url_for("admin.contest", contest_id=contest_id))
    return redirect(url_for("admin.contests"))


# ---------------------------------------------------------------------------------------------
# Abilities


@bp.route("/contests/<int:contest_id>/abilities/new", methods=["POST"])
@roles_required(Role.ORGANISER)
def new_ability(contest_id: int):
    contest = _get(Contest, contest_id, _("No such contest."))
    ability_form = AbilityForm()
    refusal = Refusal(ability_form)
    if ability_form.validate_on_submit():
        with refusal:
            ability = contest_service.create_ability(contest, ability_form.data,
                                                     actor=current_user)
            flash(_("Ability %(name)s added.", name=ability.name), "success")
            return redirect(url_for("admin.contest", contest_id=contest.id) + "#abilities")
    return _contest_page(contest, ContestForm(obj=contest, formdata=None), ability_form,
                         refusal.errors)


@bp.route("/abilities/<int:ability_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def ability(ability_id: int):
    ability = _get(Ability, ability_id, _("No such ability."))
    form = AbilityForm(obj=ability)
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            contest_service.update_ability(ability, form.data, actor=current_user)
            flash(_("Ability %(name)s saved.", name=ability.name), "success")
            return redirect(url_for("admin.contest", contest_id=ability.contest_id)
                            + "#abilities")
    return render_template("admin/ability_form.html", form=form, ability=ability,
                           errors=refusal.errors, confirm=ConfirmForm())


@bp.route("/abilities/<int:ability_id>/delete", methods=["POST"])
@roles_required(Role.ORGANISER)
def delete_ability(ability_id: int):
    ability = _get(Ability, ability_id, _("No such ability."))
    contest_id, name = ability.contest_id, ability.name
    if ConfirmForm().validate_on_submit():
        with Refusal():
            contest_service.delete_ability(ability, actor=current_user)
            flash(_("Ability %(name)s deleted.", name=name), "success")
    return redirect(url_for("admin.contest", contest_id=contest_id) + "#abilities")


# ---------------------------------------------------------------------------------------------
# Tracks


def _track_values(form: TrackForm) -> dict:
    return {name: getattr(form, name).data for name in contest_service.TRACK_FIELDS}


@bp.route("/contests/<int:contest_id>/tracks/new", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def new_track(contest_id: int):
    contest = _get(Contest, contest_id, _("No such contest."))
    form = TrackForm()
    if request.method == "GET":
        form.number.data = contest_service.next_track_number(contest)
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            track = contest_service.create_track(contest, _track_values(form),
                                                 actor=current_user)
            flash(_("Track %(name)s created.", name=track.name), "success")
            return redirect(url_for("admin.track", track_id=track.id))
    return render_template("admin/track_form.html", form=form, contest=contest, track=None,
                           errors=refusal.errors)


@bp.route("/tracks/<int:track_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def track(track_id: int):
    """The track's settings and its stages in order."""
    track = _get(Track, track_id, _("No such track."))
    form = TrackForm(obj=track)
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            contest_service.update_track(track, _track_values(form), actor=current_user)
            flash(_("Track %(name)s saved.", name=track.name), "success")
            return redirect(url_for("admin.track", track_id=track.id))
    return render_template("admin/track.html", form=form, track=track, contest=track.contest,
                           errors=refusal.errors, confirm=ConfirmForm())


@bp.route("/tracks/<int:track_id>/delete", methods=["POST"])
@roles_required(Role.ORGANISER)
def delete_track(track_id: int):
    track = _get(Track, track_id, _("No such track."))
    contest_id, name = track.contest_id, track.name
    if ConfirmForm().validate_on_submit():
        with Refusal():
            contest_service.delete_track(track, actor=current_user)
            flash(_("Track %(name)s deleted.", name=name), "success")
            return redirect(url_for("admin.contest", contest_id=contest_id))
        return redirect(url_for("admin.track", track_id=track_id))
    return redirect(url_for("admin.contest", contest_id=contest_id))


# ---------------------------------------------------------------------------------------------
# Stages

# Service field → form field, where the form shows a value differently (shares as percent).
STAGE_ALIASES = {"recheck_fraction": "recheck_percent",
                 "recheck_error_threshold": "recheck_error_percent"}


def _prepare_stage_form(form: StageForm, stage: Stage | None) -> None:
    keys = stage_service.tie_break_keys(stage)
    options = [SelectChoice("", "—")] + [SelectChoice(k, str(label))
                                         for k, label in keys.items()]
    for index, entry in enumerate(form.tie_breaks, start=1):
        entry.form.key.choices = options
        entry.form.key.label.text = _("Tie-break %(n)s: compare", n=index)
        entry.form.direction.label.text = _("Tie-break %(n)s: direction", n=index)
    for index, entry in enumerate(form.awards, start=1):
        entry.form.name.label.text = _("Award %(n)s", n=index)
        entry.form.count.label.text = _("Award %(n)s: how many", n=index)
        entry.form.share.label.text = _("Award %(n)s: share (%%)", n=index)
        entry.form.through.label.text = _("Award %(n)s: the rest through (%%)", n=index)


def _percent(value: Decimal | None) -> Decimal | None:
    return value * 100 if value is not None else None


def _share(value: Decimal | None) -> Decimal | None:
    try:
        return (value / 100) if value is not None else None
    except InvalidOperation:
        return None


def _decimal_or_none(value) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "") else None


def _stage_form_data(stage: Stage) -> dict:
    data = {name: getattr(stage, name) for name in stage_service.STAGE_FIELDS
            if name not in ("tie_breaks", "awards")}
    data.update(kind=stage.kind.value, cutoff_tie_policy=stage.cutoff_tie_policy.value,
                standardisation=stage.standardisation.value,
                award_rounding=stage.award_rounding.value, award_ties=stage.award_ties.value,
                registration_opens_at=_local(stage.registration_opens_at),
                registration_closes_at=_local(stage.registration_closes_at),
                recheck_percent=_percent(stage.recheck_fraction),
                recheck_error_percent=_percent(stage.recheck_error_threshold),
                tie_breaks=[{"key": t.get("key", ""), "direction": t.get("direction", "")}
                            for t in stage.tie_breaks or []],
                awards=[{"name": a.get("name", ""), "count": a.get("count"),
                         "share": _decimal_or_none(a.get("share")),
                         "through": _decimal_or_none(a.get("through"))}
                        for a in stage.awards or []])
    return data


def _stage_values(form: StageForm) -> dict:
    values = {name: getattr(form, name).data for name in stage_service.STAGE_FIELDS
              if hasattr(form, name) and name not in ("tie_breaks", "awards")}
    values.update(
        registration_opens_at=_utc(form.registration_opens_at.data),
        registration_closes_at=_utc(form.registration_closes_at.data),
        recheck_fraction=_share(form.recheck_percent.data),
        recheck_error_threshold=_share(form.recheck_error_percent.data),
        tie_breaks=[entry.data for entry in form.tie_breaks],
        awards=[entry.data for entry in form.awards])
    return values


@bp.route("/tracks/<int:track_id>/stages/new", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def new_stage(track_id: int):
    track = _get(Track, track_id, _("No such track."))
    form = StageForm(data={"notice_days": 7, "decimals": 2, "recheck_top": 10,
                           "recheck_percent": Decimal(15), "recheck_error_percent": Decimal(5),
                           "appeal_window_minutes": 120, "min_age": 18, "max_age": 60,
                           "min_years_as_leader": Decimal(2), "award_rounding": "half_up",
                           "award_ties": "include"}
                     if request.method == "GET" else None)
    _prepare_stage_form(form, None)
    refusal = Refusal(form, aliases=STAGE_ALIASES)
    if form.validate_on_submit():
        with refusal:
            stage = stage_service.create_stage(track, _stage_values(form), actor=current_user)
            flash(_("Stage %(name)s created in draft; now add its components.",
                    name=stage.name), "success")
            return redirect(url_for("admin.components", stage_id=stage.id))
    return render_template("admin/stage.html", form=form, stage=None, track=track,
                           errors=refusal.errors)


@bp.route("/stages/<int:stage_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def stage(stage_id: int):
    """A stage's settings: dates and registration window, advancement, re-check, appeals,
    eligibility, awards; and its status."""
    stage = _get(Stage, stage_id, _("No such stage."))
    form = StageForm(data=_stage_form_data(stage) if request.method == "GET" else None)
    _prepare_stage_form(form, stage)
    refusal = Refusal(form, aliases=STAGE_ALIASES)
    if form.validate_on_submit():
        with refusal:
            stage_service.update_stage(stage, _stage_values(form), actor=current_user)
            flash(_("Stage %(name)s saved.", name=stage.name), "success")
            return redirect(url_for("admin.stage", stage_id=stage.id))
    return _stage_page(stage, form, refusal.errors)


def _stage_page(stage: Stage, form: StageForm, errors: dict[str, str]):
    statuses = [(status, StatusForm(formdata=None, status=status.value))
                for status in stage_flow.next_statuses(stage)]
    return render_template(
        "admin/stage.html", form=form, stage=stage, track=stage.track, errors=errors,
        statuses=statuses, outlook=stage_flow.outlook(stage),
        weights_total=sum((c.weight for c in stage.components), Decimal(0)))


@bp.route("/stages/<int:stage_id>/status", methods=["POST"])
@roles_required(Role.ORGANISER)
def stage_status(stage_id: int):
    stage = _get(Stage, stage_id, _("No such stage."))
    form = StatusForm()
    if form.validate_on_submit():
        with Refusal():
            stage_flow.change_status(stage, form.status.data, actor=current_user)
            flash(_("Stage %(name)s is now: %(status)s.", name=stage.name,
                    status=labels.STAGE_STATUS[stage.status]), "success")
    return redirect(url_for("admin.stage", stage_id=stage_id))


@bp.route("/stages/<int:stage_id>/move", methods=["POST"])
@roles_required(Role.ORGANISER)
def move_stage(stage_id: int):
    stage = _get(Stage, stage_id, _("No such stage."))
    track_id = stage.track_id
    form = ConfirmForm()
    if form.validate_on_submit():
        with Refusal():
            stage_service.move_stage(stage, -1 if form.direction.data == "up" else 1,
                                     actor=current_user)
    return redirect(url_for("admin.track", track_id=track_id))


@bp.route("/stages/<int:stage_id>/delete", methods=["POST"])
@roles_required(Role.ORGANISER)
def delete_stage(stage_id: int):
    stage = _get(Stage, stage_id, _("No such stage."))
    track_id, name = stage.track_id, stage.name
    if ConfirmForm().validate_on_submit():
        with Refusal():
            stage_service.delete_stage(stage, actor=current_user)
            flash(_("Stage %(name)s deleted.", name=name), "success")
    return redirect(url_for("admin.track", track_id=track_id))


# ---------------------------------------------------------------------------------------------
# Components and weights


def _component_rows(stage: Stage) -> list[dict]:
    rows = []
    for component in stage.components:
        row = {name: getattr(component, name) for name in stage_service.COMPONENT_FIELDS}
        row.update(id=str(component.id), kind=component.kind.value,
                   source=component.source.value, aggregation=component.aggregation.value,
                   ends_at=_local(component.ends_at))
        rows.append(row)
    return rows + [{"id": "", "min_judges": 1}]  # a blank row for a new component


def _weights_total(form: ComponentsForm) -> Decimal | None:
    """The sum shown under the weights while the organiser edits them."""
    total = Decimal(0)
    for entry in form.components:
        if not entry.form.delete.data and entry.form.weight.data is not None:
            total += entry.form.weight.data
    return total


@bp.route("/stages/<int:stage_id>/components", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def components(stage_id: int):
    """All of a stage's components on one form, so the weights are seen and saved together."""
    stage = _get(Stage, stage_id, _("No such stage."))
    form = ComponentsForm(data={"components": _component_rows(stage)}
                          if request.method == "GET" else None)
    refusal = Refusal(form, fields=("weight_total",))  # shown under the weights' sum
    if form.validate_on_submit():
        rows = [{**entry.data, "ends_at": _utc(entry.data["ends_at"])}  # typed in Beijing time
                for entry in form.components]
        with refusal:
            stage_service.save_components(stage, rows, actor=current_user)
            flash(_("Components and weights of %(name)s saved.", name=stage.name), "success")
            return redirect(url_for("admin.components", stage_id=stage.id))
    scored = stage_service.scored_component_ids([c.id for c in stage.components])
    for index, entry in enumerate(form.components, start=1):
        row = _("component %(n)s", n=index)
        for name in ("code", "name", "kind", "weight", "maximum", "delete"):
            field = entry.form[name]  # table cells: say which row the hidden label is for
            field.label.text = f"{field.label.text}（{row}）"
    return render_template(
        "admin/components.html", form=form, stage=stage, track=stage.track, errors=refusal.errors,
        weights_total=_weights_total(form), scored=scored,
        components={str(c.id): c for c in stage.components},
    )


# ---------------------------------------------------------------------------------------------
# Marking schemes


@bp.route("/components/<int:component_id>/scheme")
@roles_required(Role.ORGANISER)
def marking_scheme(component_id: int):
    """The scheme as a tree with the running total of the items' maxima."""
    component = _get(Component, component_id, _("No such component."))
    total = scheme_service.items_total(component)
    excel = {name: f"admin.{name}_marking_scheme" in current_app.view_functions
             for name in ("export", "import")}
    return render_template(
        "admin/marking_scheme.html", component=component, stage=component.stage,
        tree=scheme_service.flat_tree(component), total=total,
        difference=component.maximum - total, scored=stage_service.has_scores(component),
        problems=scheme_service.scheme_problems(component) if component.items else [],
        confirm=ConfirmForm(), excel=excel)


def _node_form(component: Component, item: MarkingItem | None, parent: MarkingItem | None
               ) -> MarkingNodeForm:
    if request.method == "GET":
        if item is not None:
            descriptors = item.descriptors or {}
            data = {name: getattr(item, name) for name in scheme_service.NODE_FIELDS}
            data.update(node=item.node.value, kind=item.kind.value if item.kind else "",
                        disqualify_scope=item.disqualify_scope.value
                        if item.disqualify_scope else "",
                        parent_id=str(item.parent_id or ""),
                        ability_id=str(item.ability_id or ""),
                        **{f"descriptor_{g}": descriptors.get(g, "") for g in "0123"})
        else:
            node = MarkingNode.CRITERION if parent is None else MarkingNode.ITEM
            data = {"node": node.value, "parent_id": str(parent.id) if parent else ""}
        form = MarkingNodeForm(data=data)
    else:
        form = MarkingNodeForm()
    excluded = {item.id} if item is not None else set()
    if item is not None:
        excluded |= {d.id for d in scheme_service._descendants(item)}
    form.parent_id.choices = [SelectChoice("", _("(top of the scheme)"))] + [
        SelectChoice(str(n.item.id), "\u2003" * n.depth + f"{n.item.code} {n.item.title}")
        for n in scheme_service.flat_tree(component)
        if n.item.node != MarkingNode.ITEM and n.item.id not in excluded]
    form.ability_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(a.id), a.name) for a in component.stage.track.contest.abilities]
    return form


NODE_ALIASES = {"parent": "parent_id", "ability": "ability_id", "descriptors": "descriptor_0"}


def _node_values(form: MarkingNodeForm, component: Component) -> dict:
    values = {name: getattr(form, name).data for name in
              ("node", "code", "title", "kind", "maximum", "all_or_nothing",
               "deduction_per_occurrence", "disqualify_scope")}
    values["descriptors"] = {g: getattr(form, f"descriptor_{g}").data or "" for g in "0123"}
    parent_id = form.parent_id.data
    values["parent"] = db.session.get(MarkingItem, parse_id(parent_id)) if parse_id(parent_id) else None
    ability_id = form.ability_id.data
    ability_id = parse_id(ability_id)
    values["ability"] = db.session.get(Ability, ability_id) if ability_id else None
    return values


@bp.route("/components/<int:component_id>/scheme/new", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def new_marking_node(component_id: int):
    component = _get(Component, component_id, _("No such component."))
    parent_id = parse_id(request.args.get("parent"))
    parent = db.session.get(MarkingItem, parent_id) if parent_id else None
    form = _node_form(component, None, parent)
    refusal = Refusal(form, aliases=NODE_ALIASES)
    if form.validate_on_submit():
        with refusal:
            item = scheme_service.add_node(component, _node_values(form, component),
                                           actor=current_user)
            flash(_("%(code)s added to the marking scheme.", code=item.code), "success")
            return redirect(url_for("admin.marking_scheme", component_id=component.id))
    return render_template("admin/marking_node.html", form=form, component=component, item=None,
                           errors=refusal.errors)


@bp.route("/marking-items/<int:item_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def marking_node(item_id: int):
    item = _get(MarkingItem, item_id, _("No such marking item."))
    component = item.component
    form = _node_form(component, item, item.parent)
    refusal = Refusal(form, aliases=NODE_ALIASES)
    if form.validate_on_submit():
        with refusal:
            scheme_service.update_node(item, _node_values(form, component), actor=current_user)
            flash(_("%(code)s saved.", code=item.code), "success")
            return redirect(url_for("admin.marking_scheme", component_id=component.id))
    return render_template("admin/marking_node.html", form=form, component=component, item=item,
                           errors=refusal.errors)


@bp.route("/marking-items/<int:item_id>/delete", methods=["POST"])
@roles_required(Role.ORGANISER)
def delete_marking_node(item_id: int):
    item = _get(MarkingItem, item_id, _("No such marking item."))
    component_id, code = item.component_id, item.code
    if ConfirmForm().validate_on_submit():
        with Refusal():
            count = scheme_service.delete_node(item, actor=current_user)
            flash(_("%(code)s deleted with %(n)s nodes under it.", code=code, n=count - 1),
                  "success")
    return redirect(url_for("admin.marking_scheme", component_id=component_id))


@bp.route("/marking-items/<int:item_id>/move", methods=["POST"])
@roles_required(Role.ORGANISER)
def move_marking_node(item_id: int):
    item = _get(MarkingItem, item_id, _("No such marking item."))
    component_id = item.component_id
    form = ConfirmForm()
    if form.validate_on_submit():
        with Refusal():
            scheme_service.move_node(item, -1 if form.direction.data == "up" else 1,
                                     actor=current_user)
    return redirect(url_for("admin.marking_scheme", component_id=component_id))


# ---------------------------------------------------------------------------------------------
# Sittings


def _sitting_values(form: SittingForm) -> dict:
    values = {name: getattr(form, name).data for name in sitting_service.SITTING_FIELDS}
    values.update(starts_at=_utc(form.starts_at.data), ends_at=_utc(form.ends_at.data))
    return values


def _move_form(stage: Stage, formdata=True) -> MoveForm:
    form = MoveForm() if formdata else MoveForm(formdata=None)
    form.sitting_id.choices = [SelectChoice("", _("(no sitting)"))] + [
        SelectChoice(str(s.id), s.name) for s in sitting_service.ordered(stage)]
    return form


def _sittings_page(stage: Stage, *, form: SittingForm | None = None,
                   move: MoveForm | None = None, errors: dict[str, str] | None = None):
    form = form or SittingForm(formdata=None)
    move = move or _move_form(stage, formdata=False)
    rosters, unassigned = sitting_service.rosters(stage)
    return render_template(
        "admin/sittings.html", stage=stage, track=stage.track, form=form, move=move,
        assign=AssignForm(formdata=None), rosters=rosters, unassigned=unassigned,
        errors=errors or {}, confirm=ConfirmForm())


@bp.route("/stages/<int:stage_id>/sittings", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def sittings(stage_id: int):
    """The stage's sittings, each with its people by exam number and counts per enterprise;
    adding a sitting, automatic assignment and moving one person by hand."""
    stage = _get(Stage, stage_id, _("No such stage."))
    form = SittingForm()
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            sitting = sitting_service.create_sitting(stage, _sitting_values(form),
                                                     actor=current_user)
            flash(_("Sitting %(name)s added.", name=sitting.name), "success")
            return redirect(url_for("admin.sittings", stage_id=stage.id))
    return _sittings_page(stage, form=form, errors=refusal.errors)


@bp.route("/sittings/<int:sitting_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def sitting(sitting_id: int):
    sitting = _get(Sitting, sitting_id, _("No such sitting."))
    form = SittingForm(data={**{n: getattr(sitting, n) for n in sitting_service.SITTING_FIELDS},
                             "starts_at": _local(sitting.starts_at),
                             "ends_at": _local(sitting.ends_at)}
                       if request.method == "GET" else None)
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            sitting_service.update_sitting(sitting, _sitting_values(form), actor=current_user)
            flash(_("Sitting %(name)s saved.", name=sitting.name), "success")
            return redirect(url_for("admin.sittings", stage_id=sitting.stage_id))
    return render_template("admin/sitting_form.html", form=form, sitting=sitting,
                           stage=sitting.stage, errors=refusal.errors, confirm=ConfirmForm(),
                           seated=sitting_service.assigned_count(sitting))


@bp.route("/sittings/<int:sitting_id>/delete", methods=["POST"])
@roles_required(Role.ORGANISER)
def delete_sitting(sitting_id: int):
    sitting = _get(Sitting, sitting_id, _("No such sitting."))
    stage_id, name = sitting.stage_id, sitting.name
    if ConfirmForm().validate_on_submit():
        with Refusal():
            freed = sitting_service.delete_sitting(sitting, actor=current_user)
            flash(_("Sitting %(name)s deleted; %(n)s people have no sitting now.", name=name,
                    n=freed), "success")
    return redirect(url_for("admin.sittings", stage_id=stage_id))


@bp.route("/stages/<int:stage_id>/sittings/assign", methods=["POST"])
@roles_required(Role.ORGANISER)
def assign_sittings(stage_id: int):
    stage = _get(Stage, stage_id, _("No such stage."))
    form = AssignForm()
    if form.validate_on_submit():
        with Refusal():
            result = sitting_service.assign_automatically(
                stage, only_unassigned=form.mode.data == "unassigned", actor=current_user)
            flash(_("%(placed)s people placed in %(sittings)s sittings (%(moved)s changed).",
                    placed=result.placed, sittings=len(result.counts), moved=result.moved),
                  "success")
            if result.together:
                flash(_("Seats left no other choice for: %(list)s.", list="；".join(
                    _("%(enterprise)s, %(n)s in %(sitting)s", enterprise=e, n=n, sitting=s)
                    for s, e, n in result.together)), "warning")
    return redirect(url_for("admin.sittings", stage_id=stage_id))


@bp.route("/stages/<int:stage_id>/sittings/move", methods=["POST"])
@roles_required(Role.ORGANISER)
def move_to_sitting(stage_id: int):
    """Move one person, found by exam number, to a sitting (or to none)."""
    stage = _get(Stage, stage_id, _("No such stage."))
    move = _move_form(stage)
    refusal = Refusal(move)
    if move.validate_on_submit():
        place = sitting_service.find_by_exam_number(stage, move.exam_number.data or "")
        target = db.session.get(Sitting, parse_id(move.sitting_id.data)) \
            if parse_id(move.sitting_id.data) else None
        if place is None:
            move.exam_number.errors = [_("No contestant of this stage has the exam number "
                                         "%(number)s.", number=move.exam_number.data)]
            refuse_form(move)
        else:
            with refusal:
                sitting_service.move_entry(place, target, actor=current_user)
                flash(_("%(name)s (%(number)s) moved to %(sitting)s.",
                        name=place.entry.contestant.name, number=move.exam_number.data,
                        sitting=target.name if target else _("(no sitting)")), "success")
                return redirect(url_for("admin.sittings", stage_id=stage.id))
    return _sittings_page(stage, move=move, errors=refusal.errors)
