"""Organiser console forms for uploading sheets into the import pipeline."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from app.display import track_label
from app.extensions import db
from app.inputs import CheckedForm
from app.models import Contest, Track

SHEET_TYPES = ["xlsx", "xlsm", "xls", "csv"]
SHEET_MESSAGE = _l("Upload an Excel workbook (.xlsx or .xls) or a .csv file.")


def track_choices() -> list[SelectChoice]:
    rows = db.session.execute(
        sa.select(Track.id, Track.name, Contest.name, Contest.year).join(Contest)
        .where(Contest.is_template.is_(False))
        .order_by(Contest.year.desc(), Contest.id.desc(), Track.sort_order))
    return [SelectChoice(str(track_id), track_label(contest, year, name))
            for track_id, name, contest, year in rows]


class RegistrationUploadForm(CheckedForm):
    track = SelectField(_l("Track"), choices=[], validators=[DataRequired()])
    file = FileField(_l("Registration sheet"), validators=[
        FileRequired(_l("Choose the file to upload.")), FileAllowed(SHEET_TYPES, SHEET_MESSAGE)])
    submit = SubmitField(_l("Check the file"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.track.choices = track_choices()


class SchemeUploadForm(CheckedForm):
    file = FileField(_l("Marking scheme sheet"), validators=[
        FileRequired(_l("Choose the file to upload.")), FileAllowed(SHEET_TYPES, SHEET_MESSAGE)])
    submit = SubmitField(_l("Check the file"))


class AnswerKeyUploadForm(CheckedForm):
    file = FileField(_l("Answer key sheet"), validators=[
        FileRequired(_l("Choose the file to upload.")), FileAllowed(SHEET_TYPES, SHEET_MESSAGE)])
    submit = SubmitField(_l("Check the file"))


class DecisionForm(CheckedForm):
    """Import the good rows, or cancel: a button whose form carries only the CSRF token."""


class ResultUploadForm(CheckedForm):
    file = FileField(_l("Results file"), validators=[
        FileRequired(_l("Choose the file to upload.")),
        FileAllowed([*SHEET_TYPES, "json"],
                    _l("Upload an Excel workbook (.xlsx or .xls), a .csv or a .json file."))])
    submit = SubmitField(_l("Check the file"))


class ResultDecisionForm(CheckedForm):
    """Import a checked results file; replacing scores needs the box ticked."""

    confirm_changes = BooleanField(_l("I have checked the changes above: replace these "
                                      "contestants' scores"))
    submit = SubmitField(_l("Import"))
