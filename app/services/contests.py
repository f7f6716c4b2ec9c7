"""Contest configuration: contests, their tracks and abilities, and copying a contest."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.inputs import clean_text, parse_number
from app.models import (
    Ability,
    Component,
    Contest,
    Entry,
    ExamQuestion,
    MarkingItem,
    Sitting,
    Stage,
    StageStatus,
    Track,
    User,
)
from app.services import FieldErrors, ServiceError, audit

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
EXAM_NUMBER_FIELDS = {"year": 2025, "track_no": 1, "track_code": "chem", "seq": 1}

CONTEST_FIELDS = ("code", "name", "short_name", "year", "level", "organiser", "contest_date",
                  "exam_number_pattern", "is_template")
TRACK_FIELDS = ("code", "name", "number", "host_union", "co_hosts")
ABILITY_FIELDS = ("code", "name")


class Problems:
    """Collects one message per field while a whole form is checked, then raises them at once
    (FieldErrors), so the organiser sees every mistake next to its field in one go."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, str(message))

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise FieldErrors(dict(self.errors))


# ---------------------------------------------------------------------------------------------
# Value checks shared by every configuration service


def checked_text(values: Mapping, name: str, problems: Problems, *,
           multiline: bool = False) -> str | None:
    """``clean_text`` of one value; its refusal (a control or format character) noted on the
    field, None then."""
    try:
        return clean_text(values.get(name), multiline=multiline, field=name)
    except ServiceError as error:
        problems.add(name, error.message)
        return None


def text(values: Mapping, name: str, problems: Problems, *, required: bool = False,
         max_length: int = 200) -> str | None:
    value = checked_text(values, name, problems)
    if not value:
        if required and value is not None:
            problems.add(name, _("This field is required."))
        return None
    if len(value) > max_length:
        problems.add(name, _("At most %(n)s characters.", n=max_length))
    return value


def code(values: Mapping, name: str, problems: Problems) -> str | None:
    value = checked_text(values, name, problems)
    if not value:
        if value is not None:
            problems.add(name, _("This field is required."))
        return None
    if not CODE_PATTERN.match(value):
        problems.add(name, _("A code is 1 to 40 letters, digits, - or _, starting with a "
                             "letter or digit."))
    return value


def _number(values: Mapping, name: str, problems: Problems, required: bool, **rules):
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            problems.add(name, _("This field is required."))
        return None
    try:
        return parse_number(raw, field=name, **rules)
    except ServiceError as error:
        problems.add(name, error.message)
        return None


def integer(values: Mapping, name: str, problems: Problems, *, required: bool = False,
            minimum: int | None = None, maximum: int | None = None,
            label: str | None = None) -> int | None:
    """A whole number (``parse_number``: plain digits, within the database's range)."""
    return _number(values, name, problems, required, whole=True, minimum=minimum,
                   maximum=maximum, label=label)


def decimal(values: Mapping, name: str, problems: Problems, *, places: int,
            required: bool = False, label: str | None = None) -> Decimal | None:
    """An exact decimal with at most ``places`` decimals (``parse_number``: floats only as a
    transport of what the caller wrote, their shortest repr, never their binary value)."""
    return _number(values, name, problems, required, places=places, label=label)


def one_of(values: Mapping, name: str, problems: Problems, enum_cls, *, required: bool = True):
    raw = values.get(name)
    if raw is None or raw == "":
        if required:
            problems.add(name, _("This field is required."))
        return None
    try:
        return enum_cls(raw.value if isinstance(raw, enum_cls) else raw)
    except ValueError:
        problems.add(name, _("Choose one of the offered values."))
        return None


def a_date(values: Mapping, name: str, problems: Problems) -> date | None:
    raw = values.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        problems.add(name, _("Enter a date as YYYY-MM-DD."))
        return None


def a_datetime(values: Mapping, name: str, problems: Problems) -> datetime | None:
    """A naive UTC datetime (the views and the API convert from the display time zone)."""
    raw = values.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw
    problems.add(name, _("Enter a date and time."))
    return None


def merged(obj: Any, fields: Iterable[str], values: Mapping) -> dict[str, Any]:
    """``values`` over the object's current ones: a partial update is checked as a whole."""
    current = {name: getattr(obj, name) for name in fields} if obj is not None else {}
    current.update({k: v for k, v in values.items() if k in fields})
    return current


# ---------------------------------------------------------------------------------------------
# Deletion guard

TABLE_LABELS = {
    "entries": _l("entries"),
    "stage_entries": _l("contestants placed in a stage"),
    "score_sheets": _l("score sheets"),
    "marks": _l("marks"),
    "component_scores": _l("component scores"),
    "judge_assignments": _l("judge assignments"),
    "draws": _l("draws"),
    "audit_log": _l("audit records"),
    "contests": _l("contests copied from it"),
    "marking_items": _l("marking items"),
    "exam_questions": _l("exam questions"),
}


def blocking_references(deleting: Mapping[str, Iterable[int]]) -> list[str]:
    """Tables (as readable names) whose rows still point at rows about to be deleted.

    ``deleting`` maps table names to the ids removed together (a contest and all its tracks,
    stages, …); references from inside that set do not block. Every foreign key of the schema
    is checked, so a table added later by another part of the system is covered too.
    """
    ids = {table: set(values) for table, values in deleting.items()}
    found: list[str] = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if not ids.get(target):
                continue
            query = sa.select(sa.func.count()).select_from(table).where(
                fk.parent.in_(sorted(ids[target])))
            if table.name in ids and ids[table.name]:
                query = query.where(table.c.id.not_in(sorted(ids[table.name])))
            if db.session.scalar(query):
                label = str(TABLE_LABELS.get(table.name, table.name))
                if label not in found:
                    found.append(label)
    return found


def refuse_if_referenced(what: str, deleting: Mapping[str, Iterable[int]]) -> None:
    db.session.flush()
    blocking = blocking_references(deleting)
    if blocking:
        raise ServiceError(_("%(what)s cannot be deleted: it still has %(refs)s.",
                             what=what, refs="、".join(blocking)), code="in_use")


def component_subtree(component_ids: list[int]) -> dict[str, list[int]]:
    """The ids deleted with these components: their marking items and exam questions."""
    if not component_ids:
        return {"components": [], "marking_items": [], "exam_questions": []}
    return {
        "components": list(component_ids),
        "marking_items": list(db.session.scalars(sa.select(MarkingItem.id).where(
            MarkingItem.component_id.in_(component_ids)))),
        "exam_questions": list(db.session.scalars(sa.select(ExamQuestion.id).where(
            ExamQuestion.component_id.in_(component_ids)))),
    }


def stage_subtree(stages: list[Stage]) -> dict[str, list[int]]:
    """The ids deleted with these stages: their components, marking items, questions, sittings."""
    stage_ids = [s.id for s in stages]
    if not stage_ids:
        return {"stages": [], "sittings": [], **component_subtree([])}
    component_ids = list(db.session.scalars(
        sa.select(Component.id).where(Component.stage_id.in_(stage_ids))))
    return {
        "stages": stage_ids,
        "sittings": list(db.session.scalars(
            sa.select(Sitting.id).where(Sitting.stage_id.in_(stage_ids)))),
        **component_subtree(component_ids),
    }


# ---------------------------------------------------------------------------------------------
# Contests


def _exam_number_pattern(values: Mapping, problems: Problems) -> str | None:
    pattern = checked_text(values, "exam_number_pattern", problems)
    if not pattern:
        if pattern is not None:
            problems.add("exam_number_pattern", _("This field is required."))
        return None
    try:
        sample = pattern.format(**EXAM_NUMBER_FIELDS)
        used = {name for name in EXAM_NUMBER_FIELDS if "{" + name in pattern}
    except (KeyError, IndexError, ValueError, AttributeError):
        problems.add("exam_number_pattern", _(
            "Use only the fields {year}, {track_no}, {track_code} and {seq}, e.g. "
            "{year}{track_no:02d}{seq:04d}."))
        return pattern
    if "seq" not in used or not used & {"track_no", "track_code"}:
        problems.add("exam_number_pattern", _(
            "The pattern needs {seq} and the track ({track_no} or {track_code}) so that "
            "every exam number is different."))
    elif len(sample) > 40:
        problems.add("exam_number_pattern", _("Exam numbers may have at most 40 characters."))
    return pattern


def _check_contest(values: Mapping, contest: Contest | None) -> dict[str, Any]:
    problems = Problems()
    clean = {
        "code": code(values, "code", problems),
        "name": text(values, "name", problems, required=True),
        "short_name": text(values, "short_name", problems, max_length=60),
        "year": integer(values, "year", problems, required=True, minimum=2000, maximum=2100,
                        label=_("The year")),
        "level": text(values, "level", problems, max_length=40),
        "organiser": text(values, "organiser", problems),
        "contest_date": a_date(values, "contest_date", problems),
        "exam_number_pattern": _exam_number_pattern(values, problems),
        "is_template": bool(values.get("is_template")),
    }
    if clean["code"] and "code" not in problems:
        taken = db.session.scalar(sa.select(Contest.id).where(Contest.code == clean["code"]))
        if taken is not None and (contest is None or taken != contest.id):
            problems.add("code", _("The code %(code)s is already used by another contest.",
                                   code=clean["code"]))
    if contest is not None and clean["exam_number_pattern"] != contest.exam_number_pattern:
        issued = db.session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
            Entry.contest_id == contest.id, Entry.exam_number.is_not(None)))
        if issued:
            problems.add("exam_number_pattern", _(
                "%(n)s exam numbers have been issued with this pattern; issued numbers never "
                "change, so the pattern cannot change any more.", n=issued))
    problems.raise_if_any()
    return clean


def create_contest(values: Mapping, *, actor: User | None = None) -> Contest:
    """A new, empty contest (tracks, stages and abilities are added afterwards)."""
    clean = _check_contest(values, None)
    contest = Contest(**clean)
    db.session.add(contest)
    db.session.flush()
    audit.record("contest.create", contest, f"新建赛事 {contest.code}（{contest.name}）",
                 after=audit.snapshot(contest, CONTEST_FIELDS), actor=actor)
    return contest


def update_contest(contest: Contest, values: Mapping, *, actor: User | None = None) -> Contest:
    clean = _check_contest(merged(contest, CONTEST_FIELDS, values), contest)
    before = audit.snapshot(contest, CONTEST_FIELDS)
    for name, value in clean.items():
        setattr(contest, name, value)
    db.session.flush()
    after = audit.snapshot(contest, CONTEST_FIELDS)
    if before != after:
        audit.record("contest.update", contest, f"修改赛事 {contest.code}",
                     before=before, after=after, actor=actor)
    return contest


def delete_contest(contest: Contest, *, actor: User | None = None) -> None:
    """Only a contest nothing refers to (no entries, no scores, no copies) can be deleted."""
    stages = [s for t in contest.tracks for s in t.stages]
    deleting = {"contests": [contest.id], "abilities": [a.id for a in contest.abilities],
                "tracks": [t.id for t in contest.tracks], **stage_subtree(stages)}
    refuse_if_referenced(_("The contest %(code)s", code=contest.code), deleting)
    audit.record("contest.delete", contest, f"删除赛事 {contest.code}（{contest.name}）",
                 before=audit.snapshot(contest, CONTEST_FIELDS), actor=actor)
    db.session.delete(contest)
    db.session.flush()


def get_contest(code_or_id: str | int) -> Contest | None:
    if isinstance(code_or_id, int):
        return db.session.get(Contest, code_or_id)
    return db.session.scalar(sa.select(Contest).where(Contest.code == code_or_id))


def contests() -> list[Contest]:
    """Every contest, newest year first; templates after the real contests of a year."""
    return list(db.session.scalars(sa.select(Contest).order_by(
        Contest.year.desc(), Contest.is_template, Contest.id)))


# ---------------------------------------------------------------------------------------------
# Tracks


def _check_track(contest: Contest, values: Mapping, track: Track | None) -> dict[str, Any]:
    problems = Problems()
    co_hosts = values.get("co_hosts")
    if isinstance(co_hosts, list | tuple):
        co_hosts = "\n".join(str(c) for c in co_hosts)
    lines = (checked_text({"co_hosts": co_hosts}, "co_hosts", problems, multiline=True)
             or "").splitlines()
    clean = {
        "code": code(values, "code", problems),
        "name": text(values, "name", problems, required=True, max_length=100),
        "number": integer(values, "number", problems, required=True, minimum=1, maximum=999,
                          label=_("The track number")),
        "host_union": text(values, "host_union", problems),
        "co_hosts": "\n".join(line for line in lines if line) or None,
    }
    others = [t for t in contest.tracks if track is None or t.id != track.id]
    if clean["code"] and any(t.code == clean["code"] for t in others):
        problems.add("code", _("Another track of this contest has the code %(code)s.",
                               code=clean["code"]))
    if clean["number"] is not None and any(t.number == clean["number"] for t in others):
        problems.add("number", _("Another track of this contest has the number %(n)s; the "
                                 "number is part of exam numbers.", n=clean["number"]))
    if track is not None and clean["number"] != track.number:
        issued = db.session.scalar(sa.select(sa.func.count()).select_from(Entry).where(
            Entry.track_id == track.id, Entry.exam_number.is_not(None)))
        if issued:
            problems.add("number", _("Exam numbers have been issued with this track number; "
                                     "it cannot change any more."))
    problems.raise_if_any()
    return clean


def next_track_number(contest: Contest) -> int:
    return max((t.number for t in contest.tracks), default=0) + 1


def create_track(contest: Contest, values: Mapping, *, actor: User | None = None) -> Track:
    clean = _check_track(contest, values, None)
    track = Track(contest=contest, sort_order=max((t.sort_order for t in contest.tracks),
                                                  default=-1) + 1, **clean)
    db.session.add(track)
    db.session.flush()
    audit.record("track.create", track, f"赛事 {contest.code} 新建赛道 {track.code}（{track.name}）",
                 after=audit.snapshot(track, TRACK_FIELDS), actor=actor)
    return track


def update_track(track: Track, values: Mapping, *, actor: User | None = None) -> Track:
    clean = _check_track(track.contest, merged(track, TRACK_FIELDS, values), track)
    before = audit.snapshot(track, TRACK_FIELDS)
    for name, value in clean.items():
        setattr(track, name, value)
    db.session.flush()
    after = audit.snapshot(track, TRACK_FIELDS)
    if before != after:
        audit.record("track.update", track, f"修改赛道 {track.contest.code}/{track.code}",
                     before=before, after=after, actor=actor)
    return track


def delete_track(track: Track, *, actor: User | None = None) -> None:
    deleting = {"tracks": [track.id], **stage_subtree(list(track.stages))}
    refuse_if_referenced(_("The track %(name)s", name=track.name), deleting)
    audit.record("track.delete", track, f"删除赛道 {track.contest.code}/{track.code}",
                 before=audit.snapshot(track, TRACK_FIELDS), actor=actor)
    track.contest.tracks.remove(track)
    db.session.flush()


# ---------------------------------------------------------------------------------------------
# Abilities


def _check_ability(contest: Contest, values: Mapping, ability: Ability | None) -> dict:
    problems = Problems()
    clean = {"code": code(values, "code", problems),
             "name": text(values, "name", problems, required=True, max_length=60)}
    others = [a for a in contest.abilities if ability is None or a.id != ability.id]
    if clean["code"] and any(a.code == clean["code"] for a in others):
        problems.add("code", _("Another ability of this contest has the code %(code)s.",
                               code=clean["code"]))
    if clean["name"] and any(a.name == clean["name"] for a in others):
        problems.add("name", _("Another ability of this contest is called %(name)s.",
                               name=clean["name"]))
    problems.raise_if_any()
    return clean


def create_ability(contest: Contest, values: Mapping, *, actor: User | None = None) -> Ability:
    clean = _check_ability(contest, values, None)
    ability = Ability(contest=contest, sort_order=max(
        (a.sort_order for a in contest.abilities), default=-1) + 1, **clean)
    db.session.add(ability)
    db.session.flush()
    audit.record("ability.create", ability, f"赛事 {contest.code} 新增能力 {ability.name}",
                 after=audit.snapshot(ability, ABILITY_FIELDS), actor=actor)
    return ability


def update_ability(ability: Ability, values: Mapping, *, actor: User | None = None) -> Ability:
    clean = _check_ability(ability.contest, merged(ability, ABILITY_FIELDS, values), ability)
    before = audit.snapshot(ability, ABILITY_FIELDS)
    ability.code, ability.name = clean["code"], clean["name"]
    db.session.flush()
    after = audit.snapshot(ability, ABILITY_FIELDS)
    if before != after:
        audit.record("ability.update", ability, f"修改能力 {ability.name}",
                     before=before, after=after, actor=actor)
    return ability


def delete_ability(ability: Ability, *, actor: User | None = None) -> None:
    refuse_if_referenced(_("The ability %(name)s", name=ability.name),
                         {"abilities": [ability.id]})
    audit.record("ability.delete", ability, f"删除能力 {ability.name}",
                 before=audit.snapshot(ability, ABILITY_FIELDS), actor=actor)
    ability.contest.abilities.remove(ability)
    db.session.flush()


# ---------------------------------------------------------------------------------------------
# Copying a contest


def _shift_years(value, years: int):
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    if value is None or years == 0:
        return value
    try:
        return value.replace(year=value.year + years)
    except ValueError:
        return value.replace(year=value.year + years, day=28)


def suggested_copy(source: Contest) -> dict[str, Any]:
    """Code, name and year for next year's contest: the source's year replaced by the next."""
    year = source.year + 1
    old, new = str(source.year), str(year)
    code_ = source.code.replace(old, new) if old in source.code else f"{source.code}-{new}"
    name = source.name.replace(old, new) if old in source.name else source.name
    return {"code": code_[:40], "name": name, "year": year}


STAGE_COPY_FIELDS = (
    "seq", "kind", "name", "quota", "review_pool", "per_enterprise_cap", "cutoff_tie_policy",
    "notice_days", "decimals", "standardisation", "recheck_top", "recheck_fraction",
    "recheck_error_threshold", "appeal_window_minutes", "min_age", "max_age",
    "min_years_as_leader", "award_rounding", "award_ties", "award_margin")
COMPONENT_COPY_FIELDS = (
    "code", "name", "kind", "source", "weight", "maximum", "aggregation", "trim", "min_judges",
    "disagreement_threshold", "judgement_order", "min_percent", "time_limit_minutes",
    "overrun_deduction_per_minute", "overrun_disqualify_after_minutes", "sort_order")
ITEM_COPY_FIELDS = ("node", "code", "title", "kind", "maximum", "all_or_nothing",
                    "deduction_per_occurrence", "disqualify_scope", "sort_order")


def copy_contest(source: Contest, values: Mapping, *, actor: User | None = None) -> Contest:
    """A new contest with the source's whole configuration and none of its people.

    Copied: the contest's settings, abilities, tracks, stages (dates moved by the difference
    in years, status back to draft), components with their weights and rules, marking schemes
    (ability tags pointing at the new contest's abilities) and sittings (times moved, nobody
    assigned). Not copied: entries, stage places, scores, judge panels, draws, sign-offs, exam
    questions (a new exam has a new key) and results.
    """
    problems = Problems()
    wanted = {
        "code": code(values, "code", problems),
        "name": text(values, "name", problems, required=True),
        "year": integer(values, "year", problems, required=True, minimum=2000, maximum=2100,
                        label=_("The year")),
    }
    if wanted["code"] and "code" not in problems and db.session.scalar(
            sa.select(Contest.id).where(Contest.code == wanted["code"])) is not None:
        problems.add("code", _("The code %(code)s is already used by another contest.",
                               code=wanted["code"]))
    problems.raise_if_any()
    years = wanted["year"] - source.year
    contest = Contest(
        code=wanted["code"], name=wanted["name"], year=wanted["year"],
        short_name=source.short_name, level=source.level, organiser=source.organiser,
        contest_date=_shift_years(source.contest_date, years),
        exam_number_pattern=source.exam_number_pattern,
        is_template=bool(values.get("is_template")), copied_from_id=source.id)
    db.session.add(contest)
    abilities: dict[int, Ability] = {}
    for old in source.abilities:
        abilities[old.id] = Ability(contest=contest, code=old.code, name=old.name,
                                    sort_order=old.sort_order)
        db.session.add(abilities[old.id])
    counts = {"tracks": 0, "stages": 0, "components": 0, "marking_items": 0, "sittings": 0,
              "abilities": len(abilities)}
    for old_track in source.tracks:
        track = Track(contest=contest, code=old_track.code, name=old_track.name,
                      number=old_track.number, host_union=old_track.host_union,
                      co_hosts=old_track.co_hosts, sort_order=old_track.sort_order)
        db.session.add(track)
        counts["tracks"] += 1
        for old_stage in old_track.stages:
            stage = Stage(track=track, status=StageStatus.DRAFT,
                          **{f: getattr(old_stage, f) for f in STAGE_COPY_FIELDS})
            for name in ("registration_opens_at", "registration_closes_at", "starts_on",
                         "ends_on"):
                setattr(stage, name, _shift_years(getattr(old_stage, name), years))
            stage.tie_breaks = [dict(t) for t in old_stage.tie_breaks or []]
            stage.awards = [dict(a) for a in old_stage.awards or []]
            db.session.add(stage)
            counts["stages"] += 1
            for old_component in old_stage.components:
                component = Component(
                    stage=stage, ends_at=_shift_years(old_component.ends_at, years),
                    **{f: getattr(old_component, f) for f in COMPONENT_COPY_FIELDS})
                db.session.add(component)
                counts["components"] += 1
                counts["marking_items"] += _copy_scheme(old_component, component, abilities)
            for old_sitting in old_stage.sittings:
                db.session.add(Sitting(
                    stage=stage, name=old_sitting.name, venue=old_sitting.venue, room=old_sitting.room,
                    starts_at=_shift_years(old_sitting.starts_at, years),
                    ends_at=_shift_years(old_sitting.ends_at, years),
                    capacity=old_sitting.capacity))
                counts["sittings"] += 1
    db.session.flush()
    audit.record("contest.copy", contest,
                 f"由赛事 {source.code} 复制出 {contest.code}（{contest.name}）",
                 before={"source": source.code}, after={"code": contest.code, **counts},
                 actor=actor)
    return contest


def _copy_scheme(old: Component, new: Component, abilities: dict[int, Ability]) -> int:
    copies: dict[int, MarkingItem] = {}
    for item in sorted(old.items, key=lambda i: (i.sort_order, i.id)):
        copies[item.id] = MarkingItem(
            component=new, descriptors=dict(item.descriptors) if item.descriptors else None,
            ability=abilities.get(item.ability_id) if item.ability_id else None,
            **{f: getattr(item, f) for f in ITEM_COPY_FIELDS})
        db.session.add(copies[item.id])
    for item in old.items:
        if item.parent_id is not None:
            copies[item.id].parent = copies[item.parent_id]
    return len(copies)
