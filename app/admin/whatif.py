"""Organiser console: the what-if preview of a stage's results under other weights, quota,
per-enterprise cap or cut-off tie policy, and applying those settings (audited)."""
from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import joinedload

from app import labels
from app.admin import bp
from app.errors import Refusal, abort_with
from app.extensions import db
from app.models import AdvancementEntryStatus, Entry, Role, Stage, StageEntry
from app.security import roles_required
from app.services import results, whatif
from app.services.audit import json_safe

SHOWN = 300  # changed entries listed on the page (the counts cover all of them)

STANDING = {
    whatif.ADVANCING: labels.ADVANCEMENT_STATUS[AdvancementEntryStatus.ADVANCING],
    whatif.SKIPPED_FOR_CAP: labels.ADVANCEMENT_STATUS[AdvancementEntryStatus.SKIPPED_FOR_CAP],
    whatif.RESERVE: labels.ADVANCEMENT_STATUS[AdvancementEntryStatus.RESERVE],
    whatif.NOT_ELIGIBLE: _l("Not eligible"),
}


def _stage(stage_id: int) -> Stage:
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    return stage


def _values(form: Mapping, stage: Stage) -> dict:
    """The form's settings as whatif.preview takes them (every field is always sent)."""
    return {"weights": {c.code: form.get(f"weights.{c.code}", "") for c in stage.components},
            "quota": form.get("quota", ""),
            "per_enterprise_cap": form.get("per_enterprise_cap", ""),
            "cutoff_tie_policy": form.get("cutoff_tie_policy", "")}


def _current_form(stage: Stage) -> dict[str, str]:
    settings = whatif.Settings.of(stage)
    form = {f"weights.{code}": json_safe(weight) for code, weight in settings.weights.items()}
    form.update(quota="" if settings.quota is None else str(settings.quota),
                per_enterprise_cap="" if settings.per_enterprise_cap is None
                else str(settings.per_enterprise_cap),
                cutoff_tie_policy=settings.cutoff_tie_policy.value)
    return form


def _page_fields(stage: Stage) -> list[str]:
    """The fields the page shows a message next to (others are flashed above it)."""
    return ["weight_total", "quota", "per_enterprise_cap", "cutoff_tie_policy",
            *(f"weights.{c.code}" for c in stage.components)]


def _page(stage: Stage, form: Mapping, *, preview: whatif.Preview | None = None,
          errors: Mapping | None = None):
    places = {}
    if preview is not None and preview.changes:
        shown = [c.entry_id for c in preview.changes[:SHOWN]]
        places = {p.id: p for p in db.session.scalars(
            sa.select(StageEntry).where(StageEntry.id.in_(shown))
            .options(joinedload(StageEntry.entry).joinedload(Entry.contestant),
                     joinedload(StageEntry.entry).joinedload(Entry.enterprise)))}
    return render_template(
        "admin/results_whatif.html", stage=stage, form=form, preview=preview,
        errors=errors or {}, places=places, shown=SHOWN, standing=STANDING,
        policies=labels.CUTOFF_TIE_POLICY, reveal=results.names_revealed(stage),
        problems=results.readiness(stage))


@bp.route("/stages/<int:stage_id>/what-if")
@roles_required(Role.ORGANISER)
def results_whatif(stage_id: int):
    """The form (the current settings), and with ``preview`` in the query the comparison."""
    stage = _stage(stage_id)
    if "preview" not in request.args:
        return _page(stage, _current_form(stage))
    form = request.args
    refusal = Refusal(fields=_page_fields(stage))
    with refusal:
        return _page(stage, form, preview=whatif.preview(stage, **_values(form, stage)))
    return _page(stage, form, errors=refusal.errors)


@bp.route("/stages/<int:stage_id>/what-if/apply", methods=["POST"])
@roles_required(Role.ORGANISER)
def apply_whatif(stage_id: int):
    """Make the previewed settings the stage's own through the audited configuration services;
    results change only with a new version."""
    stage = _stage(stage_id)
    refusal = Refusal(fields=_page_fields(stage))
    with refusal:
        settings = whatif.proposed_settings(stage, **_values(request.form, stage))
        if not whatif.apply(stage, settings, actor=current_user):
            flash(_("Nothing to apply: these are the stage's settings already."), "info")
        else:
            flash(_("The new settings are the stage's own now. Results change only when a new "
                    "version is computed: compute it below."), "success")
        return redirect(url_for("admin.stage_results", stage_id=stage.id))
    return _page(stage, request.form, errors=refusal.errors)
