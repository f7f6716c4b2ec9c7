"""Forms of the judging workspace."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.inputs import CheckedForm


class SubmitSheetForm(CheckedForm):
    version = HiddenField()
    submit = SubmitField(_l("Submit the sheet"))


class ReturnSheetForm(CheckedForm):
    comment = TextAreaField(_l("What should the judge look at again?"),
                            validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("Return to the judge"))


class SignOffForm(CheckedForm):
    acknowledge = BooleanField(_l("I have reviewed every workstation flagged for disagreement"))
    submit = SubmitField(_l("Sign the component off"))
