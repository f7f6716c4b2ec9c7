"""Forms of the contest configuration pages; they parse types, the services judge the rules."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.i18n import translations
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.meta import DefaultMeta
from wtforms.validators import Length, Optional

from app import labels
from app.inputs import CheckedForm, CheckedMeta, number_formdata
from app.models import JudgementOrder

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class ExactDecimalField(DecimalField):
    """A decimal shown as written: 40 rather than 40.00, and never rounded for display."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators or [Optional()], places=None, **kwargs)

    def process_formdata(self, valuelist):
        number_formdata(self, valuelist)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        text = format(Decimal(self.data), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


def choices(mapping: dict, blank: str | None = None) -> list[SelectChoice]:
    """Select options from an {enum member or key: label} table, optionally after a blank one.
    Labels stay lazy, so each page shows them in its own language."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(getattr(key, "value", key), label)
                      for key, label in mapping.items()]


class RowForm(Form):
    """A repeated part of a form (FieldList): no CSRF token of its own, but WTForms' messages
    in the page's language, as FlaskForm gives its own fields."""

    class Meta(CheckedMeta, DefaultMeta):
        def get_translations(self, form):
            return translations


class WholeNumberField(IntegerField):
    """A whole number read by ``parse_number`` (within the database's integer range)."""

    def process_formdata(self, valuelist):
        number_formdata(self, valuelist, whole=True)


def _integer(label, **kwargs) -> IntegerField:
    return WholeNumberField(label, validators=[Optional()], **kwargs)


class ContestForm(CheckedForm):
    code = StringField(_l("Code"), validators=[Length(max=40)],
                       description=_l("Letters, digits, - and _, e.g. jstl-2026."))
    name = StringField(_l("Contest name"), validators=[Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[Length(max=60)])
    year = _integer(_l("Year"))
    level = StringField(_l("Level"), validators=[Length(max=40)],
                        description=_l("e.g. 一级 (first-class)"))
    organiser = StringField(_l("Organiser"), validators=[Length(max=200)])
    contest_date = DateField(_l("Contest date"), validators=[Optional()],
                             description=_l("Ages are measured on this day."))
    exam_number_pattern = StringField(
        _l("Exam number pattern"), default="{year}{track_no:02d}{seq:04d}",
        description=_l("Fields: {year}, {track_no}, {track_code}, {seq}; e.g. "
                       "{year}{track_no:02d}{seq:04d} gives 2026010001."))
    is_template = BooleanField(_l("A template for new contests"))
    submit = SubmitField(_l("Save"))


class CopyContestForm(CheckedForm):
    code = StringField(_l("Code of the new contest"), validators=[Length(max=40)])
    name = StringField(_l("Name of the new contest"), validators=[Length(max=200)])
    year = _integer(_l("Year"), description=_l(
        "Dates of stages and sittings move by the difference in years."))
    is_template = BooleanField(_l("The copy is a template"))
    submit = SubmitField(_l("Copy"))


class TrackForm(CheckedForm):
    code = StringField(_l("Code"), validators=[Length(max=40)])
    name = StringField(_l("Track name"), validators=[Length(max=100)])
    number = _integer(_l("Number"), description=_l("Part of exam numbers ({track_no})."))
    host_union = StringField(_l("Host union"), validators=[Length(max=200)])
    co_hosts = TextAreaField(_l("Co-hosts"), description=_l("One per line."),
                             render_kw={"rows": 3})
    submit = SubmitField(_l("Save"))


class AbilityForm(CheckedForm):
    code = StringField(_l("Code"), validators=[Length(max=40)])
    name = StringField(_l("Ability name"), validators=[Length(max=60)])
    submit = SubmitField(_l("Save"))


class TieBreakForm(RowForm):
    # The service checks the keys (a browser always sends one of the options; others get the
    # service's message, which names the valid keys).
    key = SelectField(_l("Compare"), choices=[], validate_choice=False)
    direction = SelectField(_l("Direction"), validate_choice=False, choices=[
        SelectChoice("", _l("Default")), SelectChoice("desc", _l("Higher first")),
        SelectChoice("asc", _l("Lower first"))])


class AwardForm(RowForm):
    """One prize tier: a name and one of how many, a share, or the rest through a share."""

    name = StringField(_l("Award"), validators=[Length(max=40)])
    count = _integer(_l("How many"))
    share = ExactDecimalField(_l("Share (%)"))
    through = ExactDecimalField(_l("The rest through (%)"))


class StageForm(CheckedForm):
    kind = SelectField(_l("Kind"), choices=choices(labels.STAGE_KIND))
    name = StringField(_l("Stage name"), validators=[Length(max=100)])
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    registration_opens_at = DateTimeLocalField(_l("Registration opens"),
                                               format=DATETIME_FORMAT, validators=[Optional()])
    registration_closes_at = DateTimeLocalField(_l("Registration closes"),
                                                format=DATETIME_FORMAT, validators=[Optional()])
    quota = _integer(_l("Quota (top N advance)"))
    review_pool = _integer(_l("Review pool (top M checked for eligibility)"))
    per_enterprise_cap = _integer(_l("At most per enterprise"))
    cutoff_tie_policy = SelectField(_l("A tie at the cut-off"),
                                    choices=choices(labels.CUTOFF_TIE_POLICY))
    tie_breaks = FieldList(FormField(TieBreakForm), min_entries=5, max_entries=8)
    notice_days = _integer(_l("Public notice (days)"))
    decimals = _integer(_l("Decimals published"), description=_l("0 to 4."))
    standardisation = SelectField(_l("Standardisation"),
                                  choices=choices(labels.STANDARDISATION))
    recheck_top = _integer(_l("Re-check all of the top"))
    recheck_percent = ExactDecimalField(_l("Re-check a sample of the rest (%)"))
    recheck_error_percent = ExactDecimalField(_l("Full re-check above an error rate of (%)"))
    appeal_window_minutes = _integer(_l("Appeal window (minutes)"))
    min_age = _integer(_l("Minimum age"))
    max_age = _integer(_l("Maximum age"))
    min_years_as_leader = ExactDecimalField(_l("Minimum years as team leader"))
    awards = FieldList(FormField(AwardForm), min_entries=4, max_entries=10)
    award_rounding = SelectField(_l("A share becomes places"),
                                 choices=choices(labels.AWARD_ROUNDING), default="half_up")
    award_ties = SelectField(_l("A tie across an award boundary"),
                             choices=choices(labels.AWARD_TIES), default="include")
    award_margin = ExactDecimalField(_l("Totals within this margin count as tied"),
                                     description=_l("Points; empty: only equal ranks are tied."))
    submit = SubmitField(_l("Save"))


class StatusForm(CheckedForm):
    status = HiddenField()
    submit = SubmitField(_l("Move on"))


class ConfirmForm(CheckedForm):
    """A button that posts (delete, move) with the CSRF token and nothing else."""

    direction = HiddenField()
    submit = SubmitField(_l("Confirm"))


class ComponentRowForm(RowForm):
    id = HiddenField()
    delete = BooleanField(_l("Delete"))
    code = StringField(_l("Code"), validators=[Length(max=40)])
    name = StringField(_l("Component name"), validators=[Length(max=100)])
    kind = SelectField(_l("Kind"), choices=choices(labels.COMPONENT_KIND))
    source = SelectField(_l("Scores come from"), choices=choices(labels.SCORE_SOURCE))
    weight = ExactDecimalField(_l("Weight (%)"))
    maximum = ExactDecimalField(_l("Maximum points"))
    aggregation = SelectField(_l("Judges' points combined by"),
                              choices=choices(labels.AGGREGATION))
    trim = _integer(_l("Drop highest and lowest (each)"),
                    description=_l("Trimmed mean only; empty: 1 from 5 judges up."))
    min_judges = _integer(_l("Minimum judges"))
    disagreement_threshold = ExactDecimalField(_l("Flag a spread of judges' points above"))
    judgement_order = SelectField(_l("Judgement items combined"),
                                  choices=choices(labels.JUDGEMENT_ORDER),
                                  default=JudgementOrder.PER_SHEET.value)
    min_percent = ExactDecimalField(_l("Minimum percentage to advance"))
    time_limit_minutes = _integer(_l("Time limit (minutes)"))
    overrun_deduction_per_minute = ExactDecimalField(_l("Deduction per started minute over"))
    overrun_disqualify_after_minutes = _integer(_l("Disqualified after minutes over"))
    ends_at = DateTimeLocalField(_l("Component ends at"), format=DATETIME_FORMAT,
                                 validators=[Optional()])


class ComponentsForm(CheckedForm):
    components = FieldList(FormField(ComponentRowForm), min_entries=1, max_entries=20)
    submit = SubmitField(_l("Save components and weights"))


class MarkingNodeForm(CheckedForm):
    node = SelectField(_l("Node"), choices=choices(labels.MARKING_NODE))
    parent_id = SelectField(_l("Under"), choices=[])
    code = StringField(_l("Code"), validators=[Length(max=40)])
    title = StringField(_l("Title"), validators=[Length(max=300)])
    kind = SelectField(_l("Item kind"), choices=choices(labels.ITEM_KIND, blank="—"))
    maximum = ExactDecimalField(_l("Maximum points"))
    all_or_nothing = BooleanField(_l("All or nothing (measurement)"))
    deduction_per_occurrence = ExactDecimalField(_l("Deduction per occurrence"))
    disqualify_scope = SelectField(_l("Disqualifies"),
                                   choices=choices(labels.DISQUALIFY_SCOPE, blank="—"))
    descriptor_0 = StringField(_l("Grade 0 descriptor"), validators=[Length(max=300)])
    descriptor_1 = StringField(_l("Grade 1 descriptor"), validators=[Length(max=300)])
    descriptor_2 = StringField(_l("Grade 2 descriptor"), validators=[Length(max=300)])
    descriptor_3 = StringField(_l("Grade 3 descriptor"), validators=[Length(max=300)])
    ability_id = SelectField(_l("Ability"), choices=[])
    submit = SubmitField(_l("Save"))


class SittingForm(CheckedForm):
    name = StringField(_l("Sitting name"), validators=[Length(max=100)])
    venue = StringField(_l("Venue"), validators=[Length(max=200)])
    room = StringField(_l("Room"), validators=[Length(max=100)])
    starts_at = DateTimeLocalField(_l("Starts at"), format=DATETIME_FORMAT,
                                   validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends at"), format=DATETIME_FORMAT, validators=[Optional()])
    capacity = _integer(_l("Capacity (seats)"), description=_l("Empty: no limit."))
    submit = SubmitField(_l("Save sitting"))


class AssignForm(CheckedForm):
    mode = SelectField(_l("Whom to place"), choices=[
        SelectChoice("all", _l("Everyone, from scratch")),
        SelectChoice("unassigned", _l("Only those without a sitting"))])
    submit = SubmitField(_l("Assign automatically"))


class MoveForm(CheckedForm):
    exam_number = StringField(_l("Exam number"), validators=[Length(max=40)])
    sitting_id = SelectField(_l("Move to"), choices=[])
    submit = SubmitField(_l("Move"))
