"""Bulk registration: an enterprise union's sheet of team leaders becomes endorsed entries.

Each row is checked with the same field checks as the entry form (app/services/registration.py)
against the track's eligibility rules; a person may have one entry per contest, so a duplicate
in the file (naming the other row) or an existing entry in the contest is a bad row. Good rows
become a Contestant (or reuse the person with that ID number), an ENDORSED Entry from the
import batch (the sheet comes from the enterprise union) and its first history step; an
enterprise is matched ignoring bracket widths and spaces, or created. Rows are written in bulk.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _

from app.extensions import db
from app.inputs import clean_text
from app.models import (
    Contest,
    Contestant,
    Enterprise,
    Entry,
    EntrySource,
    EntryStatus,
    EntryStatusChange,
    Gender,
    ImportBatch,
    ImportKind,
    Track,
    User,
    utcnow,
)
from app.services import ServiceError
from app.services.imports import (
    Column,
    Importer,
    Progress,
    Report,
    Row,
    Table,
    fetch_matching,
    insert_rows,
    register_importer,
)
from app.services.registration import (
    EligibilityRules,
    check_age,
    check_gender,
    check_id_number,
    check_phone,
    check_years,
    enterprise_match_key,
    find_or_create_enterprise,
)


def _stored_name(name: str) -> str:
    """A stored name as a new row's name is cleaned (one stored before names were checked may
    hold a refused character: it then matches no new row)."""
    try:
        return clean_text(name)
    except ServiceError:
        return name


COLUMNS = (
    Column("name", "姓名", ("选手姓名", "参赛选手姓名", "参赛者姓名"), required=True),
    Column("gender", "性别"),
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码", "居民身份证号码", "身份证",
                                   "身份证件号码", "证件号码"), required=True),
    Column("phone", "手机号码", ("手机号", "手机", "移动电话", "联系电话", "联系方式", "电话"),
           required=True),
    Column("enterprise", "单位", ("工作单位", "单位名称", "所在单位", "企业名称", "所在企业",
                                "工作单位名称"), required=True),
    Column("enterprise_category", "单位类别", ("企业类别", "单位类型", "企业类型")),
    Column("city", "设区市", ("所在市", "城市", "所在设区市", "所属市", "地市")),
    Column("post", "岗位", ("工作岗位", "所在岗位", "岗位名称")),
    Column("team_name", "班组", ("班组名称", "所在班组")),
    Column("years_as_leader", "担任班组长年限", ("班组长年限", "任班组长年限", "担任班组长时间",
                                             "班组长任职年限", "担任班组长年限(年)"),
           required=True),
    Column("skill_level", "技能等级", ("职业技能等级", "技能等级(职称)")),
    Column("honours", "荣誉", ("所获荣誉", "获得荣誉", "荣誉称号", "主要荣誉", "获奖情况")),
)

# Column lengths of Entry and Enterprise: a longer value is a bad row, never cut silently.
TEXT_LIMITS = {"name": 60, "enterprise": 200, "enterprise_category": 40, "city": 40,
               "post": 100, "team_name": 100, "skill_level": 40}
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")
PROGRESS_EVERY = 2000


class GoodRow(NamedTuple):
    row: int
    name: str
    gender: Gender
    id_number: str
    birth_date: date
    phone: str
    enterprise_key: str
    enterprise: str
    years: Decimal
    optional: tuple  # OPTIONAL_FIELDS, None where empty


OPTIONAL_FIELDS = ("enterprise_category", "city", "post", "team_name", "skill_level", "honours")


@dataclass
class Plan:
    rows: list[GoodRow]
    enterprises: dict[str, int]  # match key → id of an existing enterprise
    new_enterprises: dict[str, tuple[str, str | None, str | None]]  # key → (name, category, city)
    people: dict[str, int]  # ID number → id of an existing contestant


@register_importer
class RegistrationImporter(Importer):
    """An enterprise union's registration sheet into one track of a contest."""

    kind = ImportKind.REGISTRATIONS
    columns = COLUMNS

    def __init__(self, track: Track, actor: User | None = None):
        self.track = track
        self.actor = actor
        self.target_id = track.id
        self.contest_id = track.contest_id
        self.rules = EligibilityRules.for_track(track)

    @classmethod
    def for_target(cls, target_id: int, actor: User | None) -> RegistrationImporter:
        track = db.session.get(Track, target_id)
        if track is None:
            raise ServiceError(_("No such track."), field="track")
        return cls(track, actor)

    def audit_summary(self, batch: ImportBatch) -> str:
        return (f"导入报名表 {batch.file_name} 至赛道 {self.track.name}："
                f"{batch.rows} 行，合格 {batch.valid_rows} 行，导入 {batch.imported_rows} 行")

    # -- check -------------------------------------------------------------------------------

    def check(self, table: Table, report: Report, progress: Progress) -> Plan:
        """Every row through the shared field checks; the good ones prepared for writing.

        Values that repeat down a sheet (enterprise, city, post, years, gender…) are checked
        once per distinct value; ID numbers, names and phones once per row.
        """
        rules = self.rules
        required = _("This field is required.")
        too_long = _("At most %(n)s characters.")
        total = len(table.rows)
        good: list[GoodRow] = []
        first_row_of: dict[str, int] = {}
        texts: dict[Any, str | ServiceError] = {}
        keys: dict[str, str] = {}
        years_seen: dict[Any, Decimal | ServiceError] = {}
        genders_seen: dict[Any, Gender | ServiceError] = {}
        at = table.positions.get
        p_name, p_gender, p_id, p_phone = at("name"), at("gender"), at("id_number"), at("phone")
        p_enterprise, p_years = at("enterprise"), at("years_as_leader")
        optional = [(key, at(key), TEXT_LIMITS.get(key)) for key in OPTIONAL_FIELDS]

        def text(row: Row, key: str, raw: Any) -> str | None:
            """The cell cleaned (remembered per distinct value); a refused one (a control or
            format character) is the row's error and None."""
            try:
                value = texts[raw]
            except KeyError:
                try:
                    value = clean_text(raw)
                except ServiceError as error:
                    value = error
                texts[raw] = value
            if isinstance(value, ServiceError):
                report.error(row, key, value.message)
                return None
            return value

        def cached(seen: dict, check, raw: Any) -> Any:
            """check(raw), or the ServiceError it raised, remembered per distinct value."""
            try:
                return seen[raw]
            except KeyError:
                try:
                    found = check(raw)
                except ServiceError as error:
                    found = error
                seen[raw] = found
                return found

        for index, row in enumerate(table.rows):
            if index % PROGRESS_EVERY == 0:
                progress("check", index, total)
            cells = row.cells
            ok = True
            name = text(row, "name", cells[p_name])
            if name is None:
                ok = False
            elif not name:
                report.error(row, "name", required)
                ok = False
            elif len(name) > TEXT_LIMITS["name"]:
                report.error(row, "name", too_long % {"n": TEXT_LIMITS["name"]})
                ok = False

            gender = None
            if p_gender is not None and cells[p_gender] != "":
                gender = cached(genders_seen, check_gender, cells[p_gender])
                if isinstance(gender, ServiceError):
                    report.error(row, "gender", gender.message)
                    ok = False
                    gender = None

            id_number = born = None
            raw_id = cells[p_id]
            if raw_id == "":
                report.error(row, "id_number", required)
                ok = False
            else:
                if isinstance(raw_id, int) or (isinstance(raw_id, str)
                                               and _SCIENTIFIC.match(raw_id.strip())):
                    raw_id = float(raw_id)  # stored as a number: its last digits are lost
                try:
                    id_number, born, gender = check_id_number(raw_id, gender)
                    check_age(born, rules)
                except ServiceError as error:
                    report.error(row, error.field or "id_number", error.message)
                    ok = False
                    id_number = None
            if id_number is not None:
                first = first_row_of.setdefault(id_number, row.number)
                if first != row.number:
                    report.error(row, "id_number",
                                 _("The same ID number is already in row %(row)d.", row=first))
                    ok = False

            phone = None
            if cells[p_phone] == "":
                report.error(row, "phone", required)
                ok = False
            else:
                try:
                    phone = check_phone(cells[p_phone])
                except ServiceError as error:
                    report.error(row, "phone", error.message)
                    ok = False

            enterprise = text(row, "enterprise", cells[p_enterprise])
            if enterprise is None:
                ok = False
            elif not enterprise:
                report.error(row, "enterprise", required)
                ok = False
            elif len(enterprise) > TEXT_LIMITS["enterprise"]:
                report.error(row, "enterprise", too_long % {"n": TEXT_LIMITS["enterprise"]})
                ok = False

            years = None
            if cells[p_years] == "":
                report.error(row, "years_as_leader", required)
                ok = False
            else:
                years = cached(years_seen, lambda raw: check_years(raw, rules), cells[p_years])
                if isinstance(years, ServiceError):
                    report.error(row, "years_as_leader", years.message)
                    ok = False

            values = []
            for key, position, limit in optional:
                value = text(row, key, cells[position]) if position is not None else ""
                if value is None:
                    ok = False
                elif limit is not None and len(value) > limit:
                    report.error(row, key, too_long % {"n": limit})
                    ok = False
                values.append(value or None)

            if ok:
                key = keys.get(enterprise)
                if key is None:
                    key = keys[enterprise] = enterprise_match_key(enterprise)
                good.append(GoodRow(row.number, name, gender, id_number, born, phone, key,
                                    enterprise, years, tuple(values)))
        progress("check", total, total)
        return self._against_database(good, report, table)

    def _against_database(self, good: list[GoodRow], report: Report, table: Table) -> Plan:
        """One entry per person per contest, one name per ID number, enterprises known."""
        numbers = [g.id_number for g in good]
        entered = {number: track for number, track in fetch_matching(
            sa.select(Contestant.id_number, Track.name)
            .join(Entry, Entry.contestant_id == Contestant.id)
            .join(Track, Track.id == Entry.track_id)
            .where(Entry.contest_id == self.contest_id), Contestant.id_number, numbers)}
        people = {number: (person_id, name) for number, person_id, name in fetch_matching(
            sa.select(Contestant.id_number, Contestant.id, Contestant.name),
            Contestant.id_number, numbers)}
        rows_by_number = {row.number: row for row in table.rows}
        kept: list[GoodRow] = []
        for g in good:
            row = rows_by_number[g.row]
            if g.id_number in entered:
                report.error(row, "id_number", _(
                    "This person already has an entry in this contest (track %(track)s).",
                    track=entered[g.id_number]))
                continue
            person = people.get(g.id_number)
            if person is not None and _stored_name(person[1]) != g.name:
                report.error(row, "name", _(
                    "This ID number is already registered under another name (%(name)s).",
                    name=person[1]))
                continue
            kept.append(g)

        existing = dict(db.session.execute(sa.select(Enterprise.match_key, Enterprise.id)).all())
        new: dict[str, tuple[str, str | None, str | None]] = {}
        for g in kept:
            if g.enterprise_key not in existing and g.enterprise_key not in new:
                new[g.enterprise_key] = (g.enterprise, g.optional[0], g.optional[1])
        if new:
            names = "、".join(name for name, _c, _city in list(new.values())[:20])
            more = len(new) - 20
            report.notice(_("%(n)d enterprises are not yet known and will be created: "
                            "%(names)s.", n=len(new), names=names)
                          + (_(" (and %(more)d more)", more=more) if more > 0 else ""))
        return Plan(rows=kept, enterprises=existing, new_enterprises=new,
                    people={n: p[0] for n, p in people.items()})

    # -- write -------------------------------------------------------------------------------

    def write(self, plan: Plan, batch: ImportBatch, progress: Progress) -> int:
        total = len(plan.rows)
        progress("write", 0, total)
        enterprises = dict(plan.enterprises)
        for key, (name, category, city) in plan.new_enterprises.items():
            enterprise, _created = find_or_create_enterprise(name, category=category, city=city)
            enterprises[key] = enterprise.id
        now = utcnow()
        # A row that leaves the category or the city blank takes its enterprise's (a known
        # enterprise's as stored, a new one's as the sheet first gave them).
        known = {enterprise_id: (category, city) for enterprise_id, category, city in
                 db.session.execute(sa.select(Enterprise.id, Enterprise.category, Enterprise.city)
                                    .where(Enterprise.id.in_(set(enterprises.values()))))}

        def optional(group) -> tuple:
            category, city = known.get(enterprises[group.enterprise_key], (None, None))
            values = list(group.optional)
            values[0] = values[0] or category
            values[1] = values[1] or city
            return tuple(values)

        new_people = [g for g in plan.rows if g.id_number not in plan.people]
        ids = insert_rows(
            Contestant.__table__, ("name", "gender", "id_number", "birth_date", "phone"),
            [(g.name, g.gender, g.id_number, g.birth_date, g.phone) for g in new_people],
            constants={"created_at": now}, return_ids=True)
        people = dict(plan.people)
        people.update(zip((g.id_number for g in new_people), ids, strict=True))
        progress("write", total // 3, total)

        actor_id = self.actor.id if self.actor is not None else None
        insert_rows(
            Entry.__table__,
            ("contestant_id", "enterprise_id", "years_as_leader", *OPTIONAL_FIELDS),
            [(people[g.id_number], enterprises[g.enterprise_key], g.years, *optional(g))
             for g in plan.rows],
            constants={"contest_id": self.contest_id, "track_id": self.track.id,
                       "front_line": True, "unranked": False, "status": EntryStatus.ENDORSED,
                       "source": EntrySource.IMPORT, "import_batch_id": batch.id,
                       "created_by_id": actor_id, "submitted_at": now, "created_at": now,
                       "updated_at": now})
        progress("write", 2 * total // 3, total)

        # Each new entry's first history step, made by the database from the entries themselves.
        reason = _("Imported from %(file)s (batch %(id)d)", file=batch.file_name, id=batch.id)
        db.session.execute(sa.insert(EntryStatusChange).from_select(
            ["entry_id", "from_status", "to_status", "reason", "actor_id", "at"],
            sa.select(Entry.id, sa.null(), sa.literal(EntryStatus.ENDORSED.value),
                      sa.literal(reason), sa.literal(actor_id, sa.Integer), sa.literal(now))
            .where(Entry.import_batch_id == batch.id)))
        progress("write", total, total)
        return total


def track_by_codes(track_code: str, contest_code: str | None = None) -> Track:
    """The track with ``track_code`` in the contest with ``contest_code``, or in the only or
    most recent contest (templates aside) that has such a track."""
    query = sa.select(Track).join(Contest).where(Track.code == track_code)
    if contest_code:
        query = query.where(Contest.code == contest_code)
    else:
        query = query.where(Contest.is_template.is_(False))
    track = db.session.scalar(query.order_by(Contest.year.desc(), Contest.id.desc()).limit(1))
    if track is None:
        raise ServiceError(_("No track %(track)s in that contest.", track=track_code),
                           field="track", code="not_found")
    return track
