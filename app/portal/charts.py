"""The contestant's ability chart: their own, against the track's average, and only once the
stage's results are published."""
from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import abort_with
from app.extensions import db
from app.models import Entry, Role, Stage
from app.portal import bp
from app.security import roles_required
from app.services import charts


@bp.route("/entries/<int:entry_id>/stages/<int:stage_id>/abilities.json")
@roles_required(Role.CONTESTANT)
def ability_chart(entry_id: int, stage_id: int):
    """404 unless the entry is the signed-in contestant's own and the stage's results are
    published (and unchanged since): nothing unpublished, nobody else's."""
    entry = db.session.get(Entry, entry_id)
    stage = db.session.get(Stage, stage_id)
    if entry is None or stage is None or entry.contestant.user_id != current_user.id:
        abort_with(404, _("No such entry."))
    profile = charts.contestant_ability_profile(entry, stage)
    if profile is None:
        abort_with(404, _("No published results for this stage."))
    return jsonify(profile)
