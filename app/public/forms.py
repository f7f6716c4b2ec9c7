"""The public score lookup's form."""
from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.inputs import CheckedForm


class LookupForm(CheckedForm):
    exam_number = StringField(_l("Exam number"), validators=[DataRequired(), Length(max=40)],
                              render_kw={"autocomplete": "off"})
    id_number = StringField(_l("ID number"), validators=[DataRequired(), Length(max=30)],
                            render_kw={"autocomplete": "off"})
    submit = SubmitField(_l("Look up"))
