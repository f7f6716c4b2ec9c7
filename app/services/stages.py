"""Stages of a track: their settings, their life cycle, and their components with weights."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date, to_utc
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import scoring as sc
from app.extensions import db
from app.inputs import clean_text
from app.models import (
    AggregationMethod,
    AwardRounding,
    AwardTies,
    Component,
    ComponentKind,
    ComponentScore,
    CutoffTiePolicy,
    JudgementOrder,
    ScoreSheet,
    ScoreSource,
    Stage,
    StageKind,
    StageStatus,
    Standardisation,
    Track,
    User,
)
from app.services import FieldErrors, ServiceError, audit
from app.services.contests import (
    CODE_PATTERN,
    Problems,
    a_date,
    a_datetime,
    checked_text,
    component_subtree,
    decimal,
    integer,
    merged,
    one_of,
    refuse_if_referenced,
    stage_subtree,
    text,
)

FORM = "_form"  # errors that belong to the whole form rather than one field

STAGE_FIELDS = (
    "kind", "name", "starts_on", "ends_on", "registration_opens_at", "registration_closes_at",
    "quota", "review_pool", "per_enterprise_cap", "cutoff_tie_policy", "tie_breaks",
    "notice_days", "decimals", "standardisation", "recheck_top", "recheck_fraction",
    "recheck_error_threshold", "appeal_window_minutes", "min_age", "max_age",
    "min_years_as_leader", "awards", "award_rounding", "award_ties", "award_margin")

COMPONENT_FIELDS = (
    "code", "name", "kind", "source", "weight", "maximum", "aggregation", "trim", "min_judges",
    "disagreement_threshold", "judgement_order", "min_percent", "time_limit_minutes",
    "overrun_deduction_per_minute", "overrun_disqualify_after_minutes", "ends_at")
# Fields that change what a component's existing scores mean: frozen once scores exist.
SCORE_BEARING_FIELDS = ("code", "weight", "maximum", "aggregation", "trim", "min_judges",
                        "judgement_order", "time_limit_minutes", "overrun_deduction_per_minute",
                        "overrun_disqualify_after_minutes")

TIME_KEY = "time"
# Entry columns a tie-break may name besides a component and "time" (the results service
# supplies them in the entries table scoring.compute_results reads). Extend here.
TIE_BREAK_COLUMNS: dict[str, Any] = {
    "years_as_leader": _l("Years as team leader"),
}


# ---------------------------------------------------------------------------------------------
# Stage settings


def tie_break_keys(stage: Stage | None, component_codes: list[str] | None = None) -> dict:
    """What a tie-break may compare, key → label: the stage's components, time, known columns."""
    if component_codes is None:
        component_codes = [c.code for c in stage.components] if stage is not None else []
    names = {c.code: c.name for c in stage.components} if stage is not None else {}
    keys: dict[str, Any] = {code: names.get(code, code) for code in component_codes}
    keys[TIME_KEY] = _l("Time used")
    keys.update(TIE_BREAK_COLUMNS)
    return keys


def _tie_breaks(raw: Any, valid: dict, problems: Problems) -> list[dict[str, str]]:
    chain: list[dict[str, str]] = []
    if raw is None:
        return chain
    if not isinstance(raw, list | tuple):
        problems.add("tie_breaks", _("The tie-break chain must be a list."))
        return chain
    for index, link in enumerate(raw):
        field = f"tie_breaks-{index}-key"
        if not isinstance(link, Mapping):
            problems.add(field, _("Each tie-break needs a key and a direction."))
            continue
        try:
            key = clean_text(link.get("key"))
            direction = clean_text(link.get("direction"))
        except ServiceError as error:
            problems.add(field, error.message)
            continue
        if not key:
            continue  # an empty row of the form
        direction = direction or ("asc" if key == TIME_KEY else "desc")
        if key not in valid:
            problems.add(field, _("%(key)s is not a component of this stage, time or a known "
                                  "column (%(valid)s).", key=key, valid="、".join(valid)))
        elif any(t["key"] == key for t in chain):
            problems.add(field, _("%(key)s is already in the tie-break chain.", key=key))
        if direction not in ("asc", "desc"):
            problems.add(f"tie_breaks-{index}-direction",
                         _("The direction is desc (higher first) or asc (lower first)."))
        chain.append({"key": key, "direction": direction})
    return chain


AWARD_BASES = ("count", "share", "through")


def _awards(raw: Any, problems: Problems) -> list[dict[str, Any]]:
    """The prize tiers, best first: each a name and exactly one of ``count`` (places),
    ``share`` (percent of the ranked eligible contestants) or ``through`` (everyone not yet
    awarded within the top percent), as scoring.awards.AwardTier models them. Shares are kept
    as exact decimal text (JSON has no decimals)."""
    awards: list[dict[str, Any]] = []
    if raw is None:
        return awards
    if not isinstance(raw, list | tuple):
        problems.add("awards", _("The awards must be a list."))
        return awards
    for index, award in enumerate(raw):
        if not isinstance(award, Mapping):
            problems.add(f"awards-{index}-name", _("Each award needs a name and a count."))
            continue
        try:
            name = clean_text(award.get("name"))
        except ServiceError as error:
            problems.add(f"awards-{index}-name", error.message)
            continue
        given = [b for b in AWARD_BASES if award.get(b) not in (None, "")]
        if not name and not given:
            continue  # an empty row of the form
        if not name:
            problems.add(f"awards-{index}-name", _("This field is required."))
        elif len(name) > 40:
            problems.add(f"awards-{index}-name", _("At most %(n)s characters.", n=40))
        if len(given) != 1:
            problems.add(f"awards-{index}-count", _(
                "Give exactly one of: how many, a share (%) or the rest through a share (%)."))
            continue
        basis = given[0]
        row = Problems()
        if basis == "count":
            value = integer(award, "count", row, required=True, minimum=1,
                            label=_("The number of awards"))
        else:
            value = decimal(award, basis, row, places=2, required=True,
                            label=_("The share"))
            if value is not None and not 0 < value <= 100:
                row.add(basis, _("Give a share above 0% and at most 100%."))
        for message in row.errors.values():
            problems.add(f"awards-{index}-{basis}", message)
        awards.append({"name": name, basis: value if basis == "count" else
                       (audit.json_safe(value) if value is not None else None)})
    return awards


def award_rule(stage_or_values: Any) -> sc.AwardRule:
    """The stage's prizes as the rules engine takes them (scoring.AwardRule): its tiers, the
    rounding of shares into places, the rule for a tie across a prize boundary, the margin."""
    get = (stage_or_values.get if isinstance(stage_or_values, Mapping)
           else lambda name: getattr(stage_or_values, name))
    tiers = []
    for award in get("awards") or []:
        basis = next((b for b in AWARD_BASES if award.get(b) not in (None, "")), "count")
        value = award.get(basis)
        value = int(value or 0) if basis == "count" else Decimal(str(value))
        tiers.append(sc.AwardTier(award.get("name"), **{basis: value}))
    rounding, ties = get("award_rounding"), get("award_ties")
    return sc.AwardRule(tuple(tiers),
                        rounding=getattr(rounding, "value", rounding) or "half_up",
                        ties=getattr(ties, "value", ties) or "include",
                        margin=get("award_margin"))


def day_start_utc(day: date) -> datetime:
    """Midnight at the start of ``day`` in the display time zone, as naive UTC."""
    return to_utc(datetime.combine(day, time.min))


def _neighbours(track: Track, stage: Stage | None, seq: int) -> tuple[Stage | None, Stage | None]:
    others = [s for s in track.stages if stage is None or s.id != stage.id]
    before = [s for s in others if s.seq < seq]
    after = [s for s in others if s.seq > seq]
    return (before[-1] if before else None), (after[0] if after else None)


def _span(stage: Stage) -> tuple[date | None, date | None]:
    return stage.starts_on, stage.ends_on or stage.starts_on


def _check_stage(track: Track, values: Mapping, stage: Stage | None, seq: int) -> dict[str, Any]:
    problems = Problems()
    clean: dict[str, Any] = {
        "kind": one_of(values, "kind", problems, StageKind),
        "name": text(values, "name", problems, required=True, max_length=100),
        "starts_on": a_date(values, "starts_on", problems),
        "ends_on": a_date(values, "ends_on", problems),
        "registration_opens_at": a_datetime(values, "registration_opens_at", problems),
        "registration_closes_at": a_datetime(values, "registration_closes_at", problems),
        "quota": integer(values, "quota", problems, minimum=1, label=_("The quota")),
        "review_pool": integer(values, "review_pool", problems, minimum=1,
                               label=_("The review pool")),
        "per_enterprise_cap": integer(values, "per_enterprise_cap", problems, minimum=1,
                                      label=_("The per-enterprise cap")),
        "cutoff_tie_policy": one_of(values, "cutoff_tie_policy", problems, CutoffTiePolicy),
        "notice_days": integer(values, "notice_days", problems, required=True, minimum=0,
                               maximum=365, label=_("The notice period")),
        "decimals": integer(values, "decimals", problems, required=True, minimum=0, maximum=4,
                            label=_("The decimals")),
        "standardisation": one_of(values, "standardisation", problems, Standardisation),
        "recheck_top": integer(values, "recheck_top", problems, required=True, minimum=0,
                               label=_("The re-checked top places")),
        "recheck_fraction": decimal(values, "recheck_fraction", problems, places=4,
                                    required=True, label=_("The re-check sample")),
        "recheck_error_threshold": decimal(values, "recheck_error_threshold", problems, places=4,
                                           required=True, label=_("The error threshold")),
        "appeal_window_minutes": integer(values, "appeal_window_minutes", problems,
                                         required=True, minimum=0, maximum=60 * 24 * 30,
                                         label=_("The appeal window")),
        "min_age": integer(values, "min_age", problems, minimum=0, maximum=100,
                           label=_("The minimum age")),
        "max_age": integer(values, "max_age", problems, minimum=0, maximum=100,
                           label=_("The maximum age")),
        "min_years_as_leader": decimal(values, "min_years_as_leader", problems, places=1,
                                       label=_("The minimum years as team leader")),
    }
    codes = [c.code for c in stage.components] if stage is not None else []
    clean["tie_breaks"] = _tie_breaks(values.get("tie_breaks"), tie_break_keys(stage, codes),
                                      problems)
    clean["awards"] = _awards(values.get("awards"), problems)
    clean["award_rounding"] = one_of(values, "award_rounding", problems, AwardRounding)
    clean["award_ties"] = one_of(values, "award_ties", problems, AwardTies)
    clean["award_margin"] = decimal(values, "award_margin", problems, places=4,
                                    label=_("The tie margin"))
    if clean["award_margin"] is not None and clean["award_margin"] < 0:
        problems.add("award_margin", _("The tie margin cannot be negative."))
    if not problems and clean["awards"]:
        try:
            award_rule(clean)
        except sc.ScoringError as error:
            problems.add("awards", str(error))
    for name in ("recheck_fraction", "recheck_error_threshold"):
        value = clean[name]
        if value is not None and not 0 <= value <= 1:
            problems.add(name, _("Give a share between 0% and 100%."))
    if clean["min_years_as_leader"] is not None and clean["min_years_as_leader"] < 0:
        problems.add("min_years_as_leader", _("The minimum years cannot be negative."))
    if None not in (clean["min_age"], clean["max_age"]) and clean["min_age"] > clean["max_age"]:
        problems.add("max_age", _("The maximum age cannot be below the minimum age."))
    if None not in (clean["quota"], clean["review_pool"]) and \
            clean["review_pool"] < clean["quota"]:
        problems.add("review_pool", _("The review pool cannot be smaller than the quota."))
    starts, ends = clean["starts_on"], clean["ends_on"]
    if starts and ends and ends < starts:
        problems.add("ends_on", _("The stage cannot end before it starts."))
    opens, closes = clean["registration_opens_at"], clean["registration_closes_at"]
    if opens and closes and closes <= opens:
        problems.add("registration_closes_at",
                     _("Registration must close after it opens."))
    elif closes and starts and closes > day_start_utc(starts):
        problems.add("registration_closes_at", _(
            "Registration must close no later than the stage starts (%(day)s).",
            day=format_date(starts, "yyyy-MM-dd")))
    previous, following = _neighbours(track, stage, seq)
    if starts and previous is not None:
        prev_start, prev_end = _span(previous)
        if prev_end and starts <= prev_end:
            problems.add("starts_on", _(
                "The dates overlap the previous stage %(name)s (until %(day)s): this stage "
                "must start after it ends.", name=previous.name,
                day=format_date(prev_end, "yyyy-MM-dd")))
    if following is not None and following.starts_on and (ends or starts):
        last_day = ends or starts
        if last_day >= following.starts_on:
            problems.add("ends_on", _(
                "The dates overlap the next stage %(name)s (from %(day)s): this stage must "
                "end before it starts.", name=following.name,
                day=format_date(following.starts_on, "yyyy-MM-dd")))
    if stage is not None and stage.components and not problems:
        _check_engine(problems, stage_rule_from(
            [_component_values(c) for c in stage.components], clean))
    problems.raise_if_any()
    return clean


def _check_engine(problems: Problems, build: Callable[[], Any]) -> None:
    """The rules engine is the last word: whatever it refuses is shown on the form."""
    try:
        build()
    except sc.ScoringError as error:
        problems.add(FORM, str(error))


def create_stage(track: Track, values: Mapping, *, actor: User | None = None) -> Stage:
    """A new stage after the track's last one, in draft."""
    seq = max((s.seq for s in track.stages), default=0) + 1
    defaults = {"notice_days": 7, "decimals": 2, "recheck_top": 10,
                "recheck_fraction": Decimal("0.15"), "recheck_error_threshold": Decimal("0.05"),
                "appeal_window_minutes": 120, "cutoff_tie_policy": CutoffTiePolicy.BREAK,
                "standardisation": Standardisation.NONE,
                "award_rounding": AwardRounding.HALF_UP, "award_ties": AwardTies.INCLUDE}
    clean = _check_stage(track, {**defaults, **values}, None, seq)
    stage = Stage(track=track, seq=seq, status=StageStatus.DRAFT, **clean)
    db.session.add(stage)
    db.session.flush()
    audit.record("stage.create", stage,
                 f"赛道 {track.contest.code}/{track.code} 新建赛段 {stage.seq}（{stage.name}）",
                 after=audit.snapshot(stage, STAGE_FIELDS), actor=actor)
    return stage


def update_stage(stage: Stage, values: Mapping, *, actor: User | None = None) -> Stage:
    """Change a stage's settings; every value is checked together with the ones not given."""
    clean = _check_stage(stage.track, merged(stage, STAGE_FIELDS, values), stage, stage.seq)
    before = audit.snapshot(stage, STAGE_FIELDS)
    for name, value in clean.items():
        setattr(stage, name, value)
    db.session.flush()
    after = audit.snapshot(stage, STAGE_FIELDS)
    if before != after:
        changed = [k for k in after if before[k] != after[k]]
        audit.record("stage.update", stage, f"修改赛段设置 {_stage_label(stage)}：{'、'.join(changed)}",
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
                     actor=actor)
    return stage


def _stage_label(stage: Stage) -> str:
    return f"{stage.track.contest.code}/{stage.track.code}/{stage.seq}（{stage.name}）"


def delete_stage(stage: Stage, *, actor: User | None = None) -> None:
    """Only a draft stage that nothing refers to (no contestants, scores, draws) goes."""
    if stage.status != StageStatus.DRAFT:
        raise ServiceError(_("Only a stage in draft can be deleted."), field="status")
    refuse_if_referenced(_("The stage %(name)s", name=stage.name), stage_subtree([stage]))
    track = stage.track
    audit.record("stage.delete", stage, f"删除赛段 {_stage_label(stage)}",
                 before=audit.snapshot(stage, STAGE_FIELDS), actor=actor)
    track.stages.remove(stage)
    db.session.flush()
    for seq, other in enumerate(sorted(track.stages, key=lambda s: s.seq), start=1):
        if other.seq != seq:
            _set_seq(other, seq)


def _set_seq(stage: Stage, seq: int) -> None:
    # (track_id, seq) is unique and not deferrable: step through a free number.
    stage.seq = -stage.id
    db.session.flush()
    stage.seq = seq
    db.session.flush()


def move_stage(stage: Stage, offset: int, *, actor: User | None = None) -> None:
    """Swap a draft stage with its neighbour, if the dates still run in order afterwards."""
    ordered = sorted(stage.track.stages, key=lambda s: s.seq)
    index = ordered.index(stage)
    other_index = index + (1 if offset > 0 else -1)
    if not 0 <= other_index < len(ordered):
        return
    other = ordered[other_index]
    if StageStatus.DRAFT not in (stage.status,) or other.status != StageStatus.DRAFT:
        raise ServiceError(_("Only stages in draft can change places."), field="seq")
    first, second = (stage, other) if offset > 0 else (other, stage)
    # After the swap ``second`` comes first: its dates must end before ``first`` starts.
    end = second.ends_on or second.starts_on
    if end and first.starts_on and end >= first.starts_on:
        raise ServiceError(_("The dates of the two stages would be out of order; change the "
                             "dates first."), field="seq")
    seq_a, seq_b = stage.seq, other.seq
    other.seq = -other.id
    db.session.flush()
    stage.seq = seq_b
    db.session.flush()
    other.seq = seq_a
    db.session.flush()
    audit.record("stage.move", stage, f"调整赛段顺序 {_stage_label(stage)}：{seq_a} → {seq_b}",
                 before={"seq": seq_a}, after={"seq": seq_b}, actor=actor)
    db.session.expire(stage.track, ["stages"])


# ---------------------------------------------------------------------------------------------
# Components and weights


def scored_component_ids(component_ids: list[int]) -> set[int]:
    """Components that already have score sheets or component scores."""
    if not component_ids:
        return set()
    sheets = db.session.scalars(sa.select(ScoreSheet.component_id).distinct().where(
        ScoreSheet.component_id.in_(component_ids)))
    scores = db.session.scalars(sa.select(ComponentScore.component_id).distinct().where(
        ComponentScore.component_id.in_(component_ids)))
    return set(sheets) | set(scores)


def has_scores(component: Component) -> bool:
    return bool(component.id and scored_component_ids([component.id]))


def _component_values(component: Component) -> dict[str, Any]:
    return {name: getattr(component, name) for name in COMPONENT_FIELDS}


def _row_is_blank(row: Mapping) -> bool:
    return not row.get("id") and not any(
        str(row.get(name) if row.get(name) is not None else "").strip()
        for name in ("code", "name", "weight", "maximum"))


def _check_component(row: Mapping, prefix: str, problems: Problems, stage: Stage) -> dict:
    decimals = stage.decimals
    sub = Problems()
    clean: dict[str, Any] = {
        "code": None,
        "name": text(row, "name", sub, required=True, max_length=100),
        "kind": one_of(row, "kind", sub, ComponentKind),
        "source": one_of({"source": row.get("source") or ScoreSource.JUDGES}, "source", sub,
                         ScoreSource),
        "weight": decimal(row, "weight", sub, places=2, required=True, label=_("The weight")),
        "maximum": decimal(row, "maximum", sub, places=3, required=True,
                           label=_("The maximum")),
        "aggregation": one_of({"aggregation": row.get("aggregation") or AggregationMethod.MEAN},
                              "aggregation", sub, AggregationMethod),
        "trim": integer(row, "trim", sub, minimum=1, label=_("The trim")),
        "min_judges": integer({"min_judges": row.get("min_judges") or 1}, "min_judges", sub,
                              minimum=1, maximum=50, label=_("The minimum number of judges")),
        "disagreement_threshold": decimal(row, "disagreement_threshold", sub, places=3,
                                          label=_("The disagreement threshold")),
        "judgement_order": one_of(
            {"judgement_order": row.get("judgement_order") or JudgementOrder.PER_SHEET},
            "judgement_order", sub, JudgementOrder),
        "min_percent": decimal(row, "min_percent", sub, places=2, label=_("The minimum percent")),
        "time_limit_minutes": integer(row, "time_limit_minutes", sub, minimum=1,
                                      maximum=24 * 60, label=_("The time limit")),
        "overrun_deduction_per_minute": decimal(row, "overrun_deduction_per_minute", sub,
                                                places=3, label=_("The overrun deduction")),
        "overrun_disqualify_after_minutes": integer(
            row, "overrun_disqualify_after_minutes", sub, minimum=0, maximum=24 * 60,
            label=_("The overrun limit")),
        "ends_at": a_datetime(row, "ends_at", sub),
    }
    raw_code = checked_text(row, "code", sub)
    if raw_code is None:
        pass  # refused: a control or format character
    elif not raw_code:
        sub.add("code", _("This field is required."))
    elif not CODE_PATTERN.match(raw_code):
        sub.add("code", _("A code is 1 to 40 letters, digits, - or _, starting with a "
                          "letter or digit."))
    elif raw_code in (TIME_KEY, *TIE_BREAK_COLUMNS, "total", "rank", "entry_id"):
        sub.add("code", _("%(code)s is a reserved word; choose another code.", code=raw_code))
    clean["code"] = raw_code or None
    weight, maximum = clean["weight"], clean["maximum"]
    if weight is not None and not 0 < weight <= 100:
        sub.add("weight", _("A weight is more than 0% and at most 100%."))
    if maximum is not None:
        if maximum <= 0:
            sub.add("maximum", _("The maximum must be more than 0."))
        elif maximum > 1_000_000:
            sub.add("maximum", _("%(what)s must be at most %(n)s.", what=_("The maximum"),
                                 n=1_000_000))
        elif maximum.scaleb(decimals) != maximum.scaleb(decimals).to_integral_value():
            sub.add("maximum", _("The stage publishes %(n)s decimals; the maximum may not have "
                                 "more.", n=decimals))
    if clean["trim"] is not None and clean["aggregation"] != AggregationMethod.TRIMMED_MEAN:
        sub.add("trim", _("Only a trimmed mean drops judges' highest and lowest points."))
    if clean["aggregation"] == AggregationMethod.SINGLE and clean["min_judges"] not in (1, None):
        sub.add("min_judges", _("A single judge's score needs exactly 1 judge."))
    threshold = clean["disagreement_threshold"]
    if threshold is not None and (threshold < 0 or (maximum and threshold > maximum)):
        sub.add("disagreement_threshold",
                _("The threshold is between 0 and the component's maximum."))
    if clean["min_percent"] is not None and not 0 <= clean["min_percent"] <= 100:
        sub.add("min_percent", _("Give a percentage between 0 and 100."))
    per_minute = clean["overrun_deduction_per_minute"]
    if per_minute is not None and per_minute < 0:
        sub.add("overrun_deduction_per_minute", _("A deduction cannot be negative."))
    if clean["time_limit_minutes"] is None:
        for name in ("overrun_deduction_per_minute", "overrun_disqualify_after_minutes"):
            if clean[name] is not None:
                sub.add(name, _("Set the time limit first."))
    first, last = stage.starts_on, stage.ends_on or stage.starts_on
    if clean["ends_at"] and first and not (
            day_start_utc(first) <= clean["ends_at"] < day_start_utc(last + timedelta(days=1))):
        sub.add("ends_at", _("The stage runs from %(first)s to %(last)s; the component must end "
                             "within it.", first=first.isoformat(), last=last.isoformat()))
    for name, message in sub.errors.items():
        problems.add(f"{prefix}{name}", message)
    return clean


def _checked_rows(stage: Stage, rows: list[Mapping], field_prefix: Callable[[int], str], *,
                  frozen: bool = True) -> tuple[list[tuple[int, Component | None, dict]],
                                                list[Component]]:
    """The rows of :func:`save_components` checked (nothing is changed): the kept rows with their
    clean values, and the components to delete. ``frozen=False`` lets settings of components
    with scores differ (a what-if preview), everything else is checked the same."""
    problems = Problems()
    existing = {c.id: c for c in stage.components}
    scored = scored_component_ids(list(existing))
    kept: list[tuple[int, Component | None, dict]] = []
    deleted: list[Component] = []
    for index, row in enumerate(rows):
        prefix = field_prefix(index)
        if _row_is_blank(row):
            continue
        component = None
        if row.get("id"):
            try:
                component = existing.get(int(row["id"]))
            except (TypeError, ValueError):
                component = None
            if component is None:
                problems.add(f"{prefix}code", _("This component is not part of the stage."))
                continue
        if row.get("delete"):
            if component is None:
                continue
            if component.id in scored:
                problems.add(f"{prefix}delete", _("Scores exist for %(name)s; it cannot be "
                                                  "deleted.", name=component.name))
            elif any(t.get("key") == component.code for t in stage.tie_breaks or []):
                problems.add(f"{prefix}delete", _(
                    "%(name)s is in the stage's tie-break chain; take it out there first.",
                    name=component.name))
            deleted.append(component)
            continue
        clean = _check_component(row, prefix, problems, stage)
        if frozen and component is not None and component.id in scored:
            for name in SCORE_BEARING_FIELDS:
                if clean[name] is not None and clean[name] != getattr(component, name) \
                        and f"{prefix}{name}" not in problems:
                    problems.add(f"{prefix}{name}", _(
                        "Scores exist for %(name)s; this setting can no longer change.",
                        name=component.name))
        kept.append((index, component, clean))
    codes = [clean["code"] for _i, _c, clean in kept if clean["code"]]
    for index, _component, clean in kept:
        if clean["code"] and codes.count(clean["code"]) > 1:
            problems.add(f"{field_prefix(index)}code",
                         _("Two components cannot share the code %(code)s.", code=clean["code"]))
    # The total only once every weight is readable (a missing one is already a field error).
    if kept and all(clean["weight"] is not None for _i, _c, clean in kept) and not any(
            f.endswith("-weight") or f.endswith(".weight") for f in problems.errors):
        total = sum((clean["weight"] for _i, _c, clean in kept), Decimal(0))
        if total != 100:
            parts = "＋".join(f"{clean['name'] or clean['code']}{_plain(clean['weight'])}%"
                             for _i, _c, clean in kept)
            problems.add("weight_total", _(
                "The weights must add up to 100%%; they add up to %(total)s%% (%(parts)s).",
                total=_plain(total), parts=parts))
    if kept and not problems:
        _check_engine(problems, stage_rule_from(
            [clean for _i, _c, clean in kept], _stage_values(stage)))
    problems.raise_if_any()
    return kept, deleted


def save_components(stage: Stage, rows: list[Mapping], *, actor: User | None = None,
                    field_prefix: Callable[[int], str] = lambda i: f"components-{i}-",
                    ) -> list[Component]:
    """Save a stage's components in one go: edits, new rows (``id`` empty), deletions.

    The weights of the components kept must add up to exactly 100%; a component with scores
    keeps its code, weight, maximum and judging rules; a component named by the tie-break chain
    or still referred to (judge panels, scores) cannot be deleted. Rows are kept in the given
    order. Renaming a component's code renames it in the tie-break chain too. A component's end
    time (``ends_at``, naive UTC), from which its appeal window runs, falls within the stage's
    dates; it may be set or moved after scores exist.
    """
    kept, deleted = _checked_rows(stage, rows, field_prefix)
    if deleted:
        refuse_if_referenced("、".join(c.name for c in deleted),
                             component_subtree([c.id for c in deleted]))
    before = [audit.snapshot(c, ("id", *COMPONENT_FIELDS)) for c in stage.components]
    renamed = {}
    for component in deleted:
        stage.components.remove(component)
    result = []
    for order, (_index, component, clean) in enumerate(kept):
        if component is None:
            component = Component(stage=stage)
            db.session.add(component)
        elif component.code != clean["code"]:
            renamed[component.code] = clean["code"]
        for name, value in clean.items():
            setattr(component, name, value)
        component.min_judges = clean["min_judges"] or 1
        component.sort_order = order
        result.append(component)
    if renamed:
        stage.tie_breaks = [{**t, "key": renamed.get(t["key"], t["key"])}
                            for t in stage.tie_breaks or []]
    db.session.flush()
    db.session.expire(stage, ["components"])
    after = [audit.snapshot(c, ("id", *COMPONENT_FIELDS)) for c in stage.components]
    if before != after:
        audit.record("stage.components", stage,
                     f"修改考核模块与权重 {_stage_label(stage)}："
                     + "、".join(f"{c.name}{_plain(c.weight)}%" for c in stage.components),
                     before={"components": before}, after={"components": after}, actor=actor)
    return result


def update_component(stage: Stage, component: Component, values: Mapping[str, Any], *,
                     actor: User | None = None) -> Component:
    """Change one component's settings (only those in ``values``; the rest keep theirs),
    checked with the stage's other components as the components form checks them and audited
    the same way. Errors are named by the field (``weight_total`` for the sum of the weights)."""
    components = list(stage.components)
    rows = []
    for other in components:
        row = _component_values(other)
        row["id"] = other.id
        if other.id == component.id:
            row.update({k: v for k, v in values.items() if k in COMPONENT_FIELDS})
        rows.append(row)
    codes = [c.code for c in components]
    index = components.index(component)
    save_components(stage, rows, actor=actor,
                    field_prefix=lambda i: "" if i == index else f"components.{codes[i]}.")
    return component


def set_weights(stage: Stage, weights: Mapping[str, Any], *, actor: User | None = None
                ) -> list[Component]:
    """Set the weights of a stage's components by code (others keep theirs); they must add up to
    100%. Errors are named ``weights.<code>`` (and ``weight_total``)."""
    rows, prefix = _weight_rows(stage, weights)
    with _weight_fields():
        return save_components(stage, rows, actor=actor, field_prefix=prefix)


def check_weights(stage: Stage, weights: Mapping[str, Any], *, frozen: bool = True
                  ) -> dict[str, Decimal]:
    """The checks of :func:`set_weights` without changing anything: the stage's weights by code
    with ``weights`` over them (errors named as there). ``frozen=False`` also accepts new weights
    for components that already have scores, for a what-if preview of them."""
    rows, prefix = _weight_rows(stage, weights)
    with _weight_fields():
        kept, _deleted = _checked_rows(stage, rows, prefix, frozen=frozen)
    return {clean["code"]: clean["weight"] for _i, _c, clean in kept}


def _weight_rows(stage: Stage, weights: Mapping[str, Any]
                 ) -> tuple[list[dict[str, Any]], Callable[[int], str]]:
    components = list(stage.components)
    known = {c.code for c in components}
    unknown = [code for code in weights if code not in known]
    if unknown:
        raise FieldErrors({f"weights.{code}": _("The stage has no component %(code)s.", code=code)
                           for code in unknown})
    rows = []
    for component in components:
        row = _component_values(component)
        row["id"] = component.id
        if component.code in weights:
            row["weight"] = weights[component.code]
        rows.append(row)
    codes = [c.code for c in components]
    return rows, lambda i: f"weights.{codes[i]}."


@contextmanager
def _weight_fields():
    """Errors of component rows renamed to ``weights.<code>`` (a weight's own field)."""
    try:
        yield
    except FieldErrors as error:
        raise FieldErrors({field.removesuffix(".weight"): message
                           for field, message in error.errors.items()}) from None


def check_settings(stage: Stage, values: Mapping) -> dict[str, Any]:
    """The checks of :func:`update_stage` without changing anything: ``values`` over the stage's
    current settings, checked as a whole; returns every setting's clean value."""
    return _check_stage(stage.track, merged(stage, STAGE_FIELDS, values), stage, stage.seq)


def _plain(value: Decimal | None) -> str:
    """A decimal without trailing zeros: 40.00 → 40, 12.50 → 12.5."""
    if value is None:
        return ""
    text_ = format(value, "f")
    return text_.rstrip("0").rstrip(".") if "." in text_ else text_


def _stage_values(stage: Stage) -> dict[str, Any]:
    return {name: getattr(stage, name) for name in STAGE_FIELDS}


def stage_rule_from(components: list[Mapping], settings: Mapping) -> Callable[[], sc.StageRule]:
    """A builder of the scoring engine's StageRule from component and stage values."""

    def build() -> sc.StageRule:
        rules = []
        for c in components:
            aggregation = sc.AggregationRule(
                method=AggregationMethod(c["aggregation"] or AggregationMethod.MEAN).value,
                trim=c["trim"], min_judges=c["min_judges"] or 1,
                disagreement_threshold=c["disagreement_threshold"])
            rules.append(sc.ComponentRule(c["code"], c["name"], c["weight"], c["maximum"],
                                          aggregation=aggregation, min_percent=c["min_percent"]))
        return sc.StageRule(
            tuple(rules), decimals=settings["decimals"],
            tie_breaks=tuple(sc.TieBreak(t["key"], t.get("direction"))
                             for t in settings.get("tie_breaks") or []),
            quota=settings.get("quota"), per_enterprise_cap=settings.get("per_enterprise_cap"),
            cutoff_tie_policy=CutoffTiePolicy(settings.get("cutoff_tie_policy")
                                              or CutoffTiePolicy.BREAK).value,
            standardisation=_standardisation(settings.get("standardisation")))

    return build


def _standardisation(value) -> sc.Standardisation | None:
    if value in (None, Standardisation.NONE, "none"):
        return None
    method = {"worldskills": "worldskills", "zscore": "z_score"}[Standardisation(value).value]
    return sc.Standardisation(method)


def scoring_rule(stage: Stage) -> sc.StageRule:
    """The stage's rules as the scoring engine's StageRule (raises ScoringError if invalid)."""
    return stage_rule_from([_component_values(c) for c in stage.components],
                           _stage_values(stage))()
