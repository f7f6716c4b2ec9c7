"""Forms of the judging workspace."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class SubmitSheetForm(FlaskForm):
    version = HiddenField()
    submit = SubmitField(_l("Submit the sheet"))


class ReturnSheetForm(FlaskForm):
    comment = TextAreaField(_l("What should the judge look at again?"),
                            validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("Return to the judge"))


class SignOffForm(FlaskForm):
    acknowledge = BooleanField(_l("I have reviewed every workstation flagged for disagreement"))
    submit = SubmitField(_l("Sign the component off"))
