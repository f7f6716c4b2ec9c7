"""The entry form (contestants and enterprise contacts) and review forms."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.inputs import CheckedForm
from app.services.entries import CITIES

SKILL_LEVELS = ["高级技师", "技师", "高级工", "中级工", "初级工"]


def choices(values, blank=True):
    return ([SelectChoice("", "—")] if blank else []) + [SelectChoice(v, v) for v in values]


class EntryForm(CheckedForm):
    track = SelectField(_l("Track"), validators=[DataRequired()], choices=[])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)],
                       render_kw={"autocomplete": "name"})
    gender = SelectField(_l("Gender"), validators=[DataRequired()],
                         choices=[SelectChoice("", "—"), SelectChoice("男", "男"),
                                  SelectChoice("女", "女")])
    id_number = StringField(_l("ID number"), validators=[DataRequired(), Length(max=30)],
                            render_kw={"autocomplete": "off", "inputmode": "text"})
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=20)],
                        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    enterprise = StringField(_l("Enterprise"), validators=[DataRequired(), Length(max=200)])
    enterprise_category = StringField(_l("Enterprise category"), validators=[Optional(),
                                                                            Length(max=40)])
    city = SelectField(_l("City"), choices=choices(CITIES), validators=[DataRequired()])
    post = StringField(_l("Post"), validators=[DataRequired(), Length(max=100)])
    team_name = StringField(_l("Team"), validators=[Optional(), Length(max=100)])
    years_as_leader = StringField(_l("Years as team leader"), validators=[DataRequired(),
                                                                          Length(max=10)],
                                  render_kw={"inputmode": "decimal"})
    skill_level = SelectField(_l("Skill level"), choices=choices(SKILL_LEVELS),
                              validators=[Optional()])
    honours = TextAreaField(_l("Honours"), validators=[Optional(), Length(max=1000)])
    front_line = BooleanField(_l("I work in a front-line post"), default=True)
    submit = SubmitField(_l("Submit entry"))

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "name", "gender", "id_number", "phone", "enterprise", "enterprise_category", "city",
            "post", "team_name", "years_as_leader", "skill_level", "honours", "front_line")}


class ReviewForm(CheckedForm):
    action = SelectField(_l("Action"), choices=[
        SelectChoice("endorse", _l("Endorse")), SelectChoice("approve", _l("Approve")),
        SelectChoice("reject", _l("Reject"))])
    reason = TextAreaField(_l("Reason (shown to the contestant when rejecting)"),
                           validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Apply"))


class ClaimForm(CheckedForm):
    """A contestant claims an entry by the details it was registered with."""

    id_number = StringField(_l("ID number"), validators=[DataRequired(), Length(max=30)],
                            render_kw={"autocomplete": "off"})
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)],
                       render_kw={"autocomplete": "name"})
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=20)],
                        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    submit = SubmitField(_l("Claim my entry"))
