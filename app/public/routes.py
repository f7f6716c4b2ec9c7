"""Pages anyone may open: the landing page, the language switch, the health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import (
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from app.auth.routes import safe_next
from app.extensions import db, limiter
from app.models import Contest
from app.public import bp
from app.security import home_for


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    contests = db.session.scalars(
        sa.select(Contest).where(Contest.is_template.is_(False)).order_by(Contest.year.desc())).all()
    return render_template("public/index.html", contests=contests)


@bp.route("/lang/<code>")
def set_language(code: str):
    """Switch the interface language for this browser session (and remember it on the account)."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
    return redirect(safe_next(request.args.get("next")) or url_for("public.index"))


@bp.route("/notices")
def notices():
    """Advancement lists under public notice (公示) or final, and those withdrawn after they
    were published: open to everyone."""
    from app.models import AdvancementList
    from app.services.results import public_lists, undecided_newer_version

    lists = db.session.scalars(public_lists().order_by(AdvancementList.id.desc())).all()
    return render_template("public/notices.html", lists=lists,
                           newer={listing.id: undecided_newer_version(listing)
                                  for listing in lists})


@bp.route("/notices/<int:list_id>")
def notice(list_id: int):
    """One list as published: names and enterprises (never ID numbers), the notice period and
    how to object; prints on A4. Rendered once per change of the published data (the page
    cache: app/page_cache.py), since a province's contestants open it at once."""
    from app import page_cache

    return page_cache.cached(("notice", list_id), lambda: _notice_page(list_id))


def _notice_page(list_id: int):
    from flask_babel import gettext as _

    from app.errors import abort_with
    from app.models import ListStatus
    from app.services import results

    published = results.notice(list_id)
    if published is None:
        abort_with(404, _("No such list under public notice."))
    listing = published.listing
    return render_template(
        "public/notice.html", listing=listing, rows=published.lines, removed=published.removed,
        amendments=results.amendments(listing), newer=results.undecided_newer_version(listing),
        successor=(results.replacement_list(listing)
                   if listing.status == ListStatus.WITHDRAWN else None))


def _lookup_limit() -> str:
    return current_app.config["LOOKUP_RATE_LIMIT"]


def _lookup_address_limit() -> str:
    return current_app.config["LOOKUP_RATE_LIMIT_PER_ADDRESS"]


def _looked_up_exam_number() -> str:
    return "lookup|" + (request.form.get("exam_number") or "").strip().upper()[:40]


def _lookup_failed(_response) -> bool:
    """Only lookups that found nothing count against the limits: on publication day people
    look their scores up again and again, and only guessing needs stopping."""
    return bool(g.get("lookup_failed"))


@bp.route("/lookup", methods=["GET", "POST"])
@limiter.limit(_lookup_limit, methods=["POST"], key_func=_looked_up_exam_number,
               deduct_when=_lookup_failed)
@limiter.limit(_lookup_address_limit, methods=["POST"], deduct_when=_lookup_failed)
def score_lookup():
    """成绩查询: anyone with an exam number and the ID number of its person sees that entry's
    published results and advancement, nothing else; failed attempts are rate-limited."""
    from app import page_cache
    from app.public.forms import LookupForm

    form = LookupForm()
    if not form.validate_on_submit():
        return _lookup_page(form, None)
    # A found entry's answer is rendered once per change of the published data (the page
    # cache, keyed on both numbers as typed); a failed attempt never comes from the cache, so
    # the limits above count each one.
    return page_cache.cached(("lookup", form.exam_number.data, form.id_number.data),
                             lambda: _look_up(form))


def _look_up(form):
    from flask_babel import gettext as _

    from app import page_cache
    from app.services.standings import look_up

    found = look_up(form.exam_number.data, form.id_number.data)
    if not found:
        g.lookup_failed = True
        page_cache.do_not_cache()
        form.id_number.errors.append(_(
            "No entry has this exam number with this ID number. Check both as printed on "
            "the admission ticket."))
    return _lookup_page(form, found)


def _lookup_page(form, found):
    # The page shows the ID number masked only, never as typed (it may be printed or shared).
    form.id_number.raw_data, form.id_number.data = [], ""
    response = make_response(render_template("public/lookup.html", form=form, found=found))
    response.headers["Cache-Control"] = "no-store"  # a person's scores and masked ID number
    return response


def _verification_failed(_response) -> bool:
    return bool(g.get("verification_failed"))


@bp.route("/verify/<number>")
@limiter.limit(_lookup_address_limit, deduct_when=_verification_failed)
def verify_certificate(number: str):
    """证书查验: anyone (no sign-in) checks a certificate by its number, as its QR code links:
    the holder's name masked, the award, the contest, track and stage; a revoked certificate
    says so and when; an unknown number says none was found. Unknown numbers are rate-limited
    per address, as failed score lookups are."""
    from app.services import certificates

    certificate = certificates.find(number)
    if certificate is None:
        g.verification_failed = True
    response = make_response(render_template(
        "public/verify.html", certificate=certificate,
        number="".join(c for c in number[:60] if c.isprintable()),
        holder=certificates.mask_name(certificate.holder_name) if certificate else None,
        issued_on=certificates.chinese_date(certificate.issued_at) if certificate else None),
        200 if certificate else 404)
    response.headers["Cache-Control"] = "no-store"  # a revocation shows at once
    return response


@bp.route("/healthz")
def health():
    db.session.execute(sa.text("SELECT 1"))
    return jsonify(status="ok")
