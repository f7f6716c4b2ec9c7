"""Organiser console: a stage's awards, the winners' list and the award certificates (issue,
print on A4, revoke with a reason)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app.admin import bp
from app.admin.confirm import ask, confirmed
from app.admin.exports import send_export
from app.admin.forms import IssueCertificatesForm, RevokeCertificateForm
from app.errors import Refusal, abort_with
from app.extensions import db
from app.models import Certificate, Role, Stage
from app.security import roles_required
from app.services import certificates as certificate_service
from app.services import confirmations, results
from app.services.exports import EXPORTERS


def _stage(stage_id: int) -> Stage:
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        abort_with(404, _("No such stage."))
    return stage


def _certificate(certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        abort_with(404, _("No such certificate."))
    return certificate


def _published(stage: Stage):
    version = results.latest_published(stage)
    if version is None:
        abort_with(409, _("The stage has no published results yet: nothing to award."))
    return version


@bp.route("/stages/<int:stage_id>/certificates")
@roles_required(Role.ORGANISER)
def certificates(stage_id: int):
    """The stage's certificates with their state (valid or revoked), the award holders of the
    published version, and the buttons to issue, print and export the winners' list."""
    stage = _stage(stage_id)
    return render_template(
        "admin/certificates.html", stage=stage, version=results.latest_published(stage),
        certificates=certificate_service.of_stage(stage), form=IssueCertificatesForm())


@bp.route("/stages/<int:stage_id>/certificates/issue", methods=["POST"])
@roles_required(Role.ORGANISER)
def issue_certificates(stage_id: int):
    stage = _stage(stage_id)
    if IssueCertificatesForm().validate_on_submit():
        with Refusal():
            issued = certificate_service.issue(_published(stage), actor=current_user)
            if issued.created:
                flash(_("%(n)d certificates issued.", n=len(issued.created)), "success")
            else:
                flash(_("Every award holder already has a certificate: none issued."), "info")
            if issued.differing:
                flash(_("%(n)d valid certificates name another award than the published "
                        "results (%(numbers)s): revoke them, then issue again.",
                        n=len(issued.differing),
                        numbers="、".join(c.number for c in issued.differing)), "warning")
    return redirect(url_for("admin.certificates", stage_id=stage.id))


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@roles_required(Role.ORGANISER)
def revoke_certificate(certificate_id: int):
    certificate = _certificate(certificate_id)
    form = RevokeCertificateForm()
    refusal = Refusal(form)
    if form.validate_on_submit():
        with refusal:
            confirmation = confirmations.revoke_certificate(certificate, form.reason.data)
            if not confirmed(confirmation):
                return ask(confirmation, carry={"reason": form.reason.data},
                           cancel=url_for("admin.certificates", stage_id=certificate.stage_id))
            certificate_service.revoke(certificate, form.reason.data, actor=current_user)
            flash(_("Certificate %(number)s revoked.", number=certificate.number), "success")
            return redirect(url_for("admin.certificates", stage_id=certificate.stage_id))
    return render_template("admin/certificate_revoke.html", certificate=certificate, form=form)


def _cards(chosen: list[Certificate]) -> list:
    cards = []
    for certificate in chosen:
        shown = certificate_service.card(certificate, url_for(
            "public.verify_certificate", number=certificate.number, _external=True))
        shown.qr = Markup(shown.qr)  # segno's own SVG markup
        cards.append(shown)
    return cards


@bp.route("/certificates/<int:certificate_id>/print")
@roles_required(Role.ORGANISER)
def print_certificate(certificate_id: int):
    """One certificate on an A4 page; a revoked one is refused."""
    certificate = _certificate(certificate_id)
    with Refusal():
        cards = _cards([certificate])
        return render_template("admin/certificates_print.html", cards=cards,
                               stage=certificate.stage)
    return redirect(url_for("admin.certificates", stage_id=certificate.stage_id))


@bp.route("/stages/<int:stage_id>/certificates/print")
@roles_required(Role.ORGANISER)
def print_certificates(stage_id: int):
    """Every valid certificate of the stage, one per A4 page (revoked ones are left out)."""
    stage = _stage(stage_id)
    valid = [c for c in certificate_service.of_stage(stage) if not c.revoked]
    return render_template("admin/certificates_print.html", cards=_cards(valid), stage=stage)


@bp.route("/stages/<int:stage_id>/winners.xlsx")
@roles_required(Role.ORGANISER)
def export_winners(stage_id: int):
    """The winners' list (获奖名单) of the stage's published results; audited."""
    stage = _stage(stage_id)
    path = EXPORTERS["winners"](_published(stage), actor=current_user)
    return send_export(path, f"{stage.track.name}{stage.name}获奖名单.xlsx",
                       fallback=f"winners-stage{stage.id}.xlsx")
