"""Organiser console forms."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.extensions import db
from app.inputs import CheckedForm
from app.labels import ROLE_LABELS  # noqa: F401 - the admin views import it from here
from app.models import Enterprise


def enterprise_choices() -> list[SelectChoice]:
    rows = db.session.execute(sa.select(Enterprise.id, Enterprise.name).order_by(Enterprise.name))
    return [SelectChoice("", "—")] + [SelectChoice(str(i), name) for i, name in rows]


class UserForm(CheckedForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(), Length(max=64),
        Regexp(r"^[A-Za-z0-9_.@-]+$", message=_l("Use letters, digits and _ . @ - only."))])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"),
                       choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])
    enterprise_id = SelectField(_l("Enterprise"), choices=[], validators=[Optional()])
    phone = StringField(_l("Mobile phone"), validators=[
        Optional(), Regexp(r"^1\d{10}$", message=_l("A mobile number has 11 digits."))])
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=8)],
                             render_kw={"autocomplete": "new-password"})
    active = BooleanField(_l("Account active"), default=True)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise_id.choices = enterprise_choices()


class IssueCertificatesForm(CheckedForm):
    submit = SubmitField(_l("Issue certificates"))


class RevokeCertificateForm(CheckedForm):
    reason = TextAreaField(_l("Reason for revoking"), validators=[Length(max=500)],
                           render_kw={"rows": 3})
    submit = SubmitField(_l("Revoke the certificate"))
